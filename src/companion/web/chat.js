// The conversation: history, streamed replies, typing, read receipts and swipes.
import { api } from "./api.js";
import { t } from "./i18n.js";

export class Chat {
  constructor({ log, typing, typingText, socket, onWhy, onError }) {
    this.log = log;
    this.typing = typing;
    this.typingText = typingText;
    this.socket = socket;
    this.onWhy = onWhy;
    this.onError = onError;
    this.character = null;
    this.messages = new Map();
    this.pending = new Map();
    this.order = [];
  }

  get lastMessageId() {
    return this.order.length ? this.order[this.order.length - 1] : null;
  }

  async open(character) {
    this.character = character;
    this.messages.clear();
    this.pending.clear();
    this.order = [];
    this.log.replaceChildren();
    this.setTyping(false);
    const page = await api.messages(character.character_id);
    if (this.character !== character) return;
    for (const message of [...page.messages].reverse()) this.add(message);
    this.markRead();
    this.scroll();
  }

  // One stored message, in the order the server gave; a known id is updated in place.
  add(message) {
    const known = this.messages.get(message.message_id);
    if (known) {
      if (message.text !== undefined) this.setText(known, message.text);
      return known;
    }
    const entry = this.render(message.sender, message.text || "");
    entry.id = message.message_id;
    entry.li.dataset.messageId = message.message_id;
    this.messages.set(message.message_id, entry);
    this.order.push(message.message_id);
    if (message.sender === "character") {
      this.setTakes(entry, message.chosen_alternative || 1, message.alternatives || 1);
      this.markSenderRead();
    } else {
      this.setStatus(entry, "sent");
    }
    return entry;
  }

  render(sender, text) {
    const li = document.createElement("li");
    li.className = `msg ${sender}`;
    const bubble = document.createElement("p");
    bubble.className = "bubble";
    bubble.textContent = text;
    li.appendChild(bubble);
    const meta = document.createElement("div");
    meta.className = "meta";
    li.appendChild(meta);
    const entry = { li, bubble, meta, sender, id: null };
    if (sender === "character") {
      bubble.dataset.testid = "reply";
      this.addTools(entry);
    } else {
      entry.status = document.createElement("span");
      entry.status.className = "status";
      entry.status.dataset.testid = "receipt";
      meta.appendChild(entry.status);
    }
    this.log.appendChild(li);
    return entry;
  }

  addTools(entry) {
    const why = button("why", t("why"), t("why_label"));
    why.dataset.testid = "why";
    why.addEventListener("click", () => entry.id && this.onWhy(entry.id, why));
    const prev = button("swipe", "‹", t("swipe_prev"));
    prev.dataset.testid = "swipe-prev";
    const count = document.createElement("span");
    count.className = "takes";
    count.dataset.testid = "takes";
    const next = button("swipe", "›", t("swipe_next"));
    next.dataset.testid = "swipe-next";
    prev.addEventListener("click", () => this.choose(entry, entry.chosen - 1));
    next.addEventListener("click", () => {
      if (entry.chosen < entry.total) this.choose(entry, entry.chosen + 1);
      else this.regenerate(entry);
    });
    entry.meta.append(prev, count, next, why);
    Object.assign(entry, { prev, next, count, why });
  }

  setTakes(entry, chosen, total) {
    entry.chosen = chosen;
    entry.total = total;
    entry.count.textContent = t("take_of", { n: chosen, total });
    entry.count.hidden = total < 2;
    entry.prev.disabled = chosen <= 1;
    entry.li.dataset.take = String(chosen);
  }

  setText(entry, text) {
    entry.bubble.textContent = text;
  }

  setStatus(entry, status) {
    entry.state = status;
    entry.status.textContent = t(status);
    entry.li.dataset.status = status;
  }

  // Every message of yours before the newest reply has been read by her.
  markSenderRead() {
    for (const entry of this.messages.values()) {
      if (entry.sender === "user" && entry.state !== "read") this.setStatus(entry, "read");
    }
  }

  send(text) {
    if (!this.character) return;
    const clientId = crypto.randomUUID();
    const entry = this.render("user", text);
    this.pending.set(clientId, entry);
    this.setStatus(entry, "sending");
    this.scroll();
    this.socket.send("chat_message", { character_id: this.character.character_id, text, client_message_id: clientId });
  }

  // Frames from the socket, for this character only.
  handle(type, payload) {
    if (!this.character || (payload.character_id && payload.character_id !== this.character.character_id)) return;
    if (type === "chat_message") this.acknowledged(payload);
    else if (type === "typing_indicator") this.setTyping(payload.typing !== false);
    else if (type === "chat_response") this.response(payload);
    else if (type === "resume") this.resumed(payload.messages || []);
  }

  acknowledged(payload) {
    const entry = this.pending.get(payload.client_message_id);
    if (entry) {
      this.pending.delete(payload.client_message_id);
      if (this.messages.has(payload.message_id)) {
        entry.li.remove();
        return;
      }
      entry.id = payload.message_id;
      entry.li.dataset.messageId = payload.message_id;
      this.messages.set(payload.message_id, entry);
      this.order.push(payload.message_id);
      this.setStatus(entry, "sent");
    } else {
      this.add({ message_id: payload.message_id, sender: "user", text: payload.text });
    }
    this.scroll();
  }

  response(payload) {
    let entry = this.messages.get(payload.message_id);
    if (!entry) entry = this.add({ message_id: payload.message_id, sender: "character", text: "" });
    if (payload.restart) this.setText(entry, "");
    if (!payload.done) {
      entry.li.classList.add("streaming");
      this.setText(entry, entry.bubble.textContent + (payload.delta || ""));
      this.scroll();
      return;
    }
    entry.li.classList.remove("streaming");
    this.setText(entry, payload.text ?? entry.bubble.textContent);
    entry.li.classList.toggle("fallback", Boolean(payload.fallback));
    if (payload.alternatives) this.setTakes(entry, payload.alternative, payload.alternatives);
    entry.next.disabled = false;
    this.setTyping(false);
    this.markSenderRead();
    this.markRead();
    this.scroll();
  }

  resumed(messages) {
    const before = this.messages.size;
    for (const message of messages) this.add(message);
    this.log.dataset.resumed = String(this.messages.size - before);
    this.markRead();
    this.scroll();
  }

  regenerate(entry) {
    entry.next.disabled = true;
    entry.li.classList.add("streaming");
    this.socket.send("regenerate", { character_id: this.character.character_id, message_id: entry.id });
  }

  async choose(entry, alternative) {
    if (alternative < 1 || alternative > entry.total) return;
    try {
      const answer = await api.choose(this.character.character_id, entry.id, alternative);
      this.setText(entry, answer.text);
      this.setTakes(entry, answer.alternative, answer.alternatives);
    } catch (error) {
      this.onError(error);
    }
  }

  // Tells the server the newest reply was seen, while the page is on screen.
  markRead() {
    if (document.visibilityState !== "visible" || !this.character) return;
    for (let i = this.order.length - 1; i >= 0; i -= 1) {
      const entry = this.messages.get(this.order[i]);
      if (entry.sender !== "character") continue;
      if (this.readUpTo !== entry.id) {
        this.readUpTo = entry.id;
        this.socket.send("message_read", { character_id: this.character.character_id, message_id: entry.id });
      }
      return;
    }
  }

  setTyping(on) {
    // How many times she was seen typing: a trace for people and tests alike.
    if (on && this.typing.hidden) this.typing.dataset.seen = String(Number(this.typing.dataset.seen || 0) + 1);
    this.typing.hidden = !on;
    if (on && this.character) this.typingText.textContent = t("typing", { name: this.character.nickname || this.character.name });
  }

  scroll() {
    this.log.scrollTop = this.log.scrollHeight;
  }

  retranslate() {
    for (const entry of this.messages.values()) {
      if (entry.sender === "character") {
        this.setTakes(entry, entry.chosen, entry.total);
        entry.why.textContent = t("why");
        entry.why.setAttribute("aria-label", t("why_label"));
        entry.prev.setAttribute("aria-label", t("swipe_prev"));
        entry.next.setAttribute("aria-label", t("swipe_next"));
      } else if (entry.state) {
        this.setStatus(entry, entry.state);
      }
    }
    for (const entry of this.pending.values()) this.setStatus(entry, entry.state);
    if (!this.typing.hidden) this.setTyping(true);
  }
}

function button(className, text, label) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = className;
  b.textContent = text;
  b.setAttribute("aria-label", label);
  return b;
}
