// The companion web client: wires the views to the API and the chat socket.
import { api, session } from "./api.js";
import { Avatar } from "./avatar.js";
import { Chat } from "./chat.js";
import { language, onLanguageChange, setLanguage, t, translate } from "./i18n.js";
import { MoodChart, showMood } from "./mood.js";
import { Days, Memories, Store, showProvenance } from "./panels.js";
import { ChatSocket } from "./socket.js";

const $ = (id) => document.getElementById(id);
const CHARACTER_KEY = "companion.character";

const state = { me: null, characters: [], character: null, catalogue: [] };
const socket = new ChatSocket(() => session.token);
const avatar = new Avatar($("avatar"));
const chart = new MoodChart($("mood-chart"), $("chart-tip"));
const chat = new Chat({
  log: $("chat-log"),
  typing: $("typing"),
  typingText: $("typing-text"),
  socket,
  onWhy: (messageId, opener) =>
    showProvenance($("provenance"), state.character.character_id, messageId, {
      memories: (id) => memories.content(id),
      textOf: (id) => document.querySelector(`[data-message-id="${id}"] .bubble`)?.textContent,
      opener,
    }).catch(fail),
  onError: fail,
});
const memories = new Memories($("memories"), { notify, onError: fail });
const days = new Days($("days"));
const store = new Store({
  items: $("store-items"),
  packs: $("packs"),
  tiers: $("tiers"),
  tier: $("tier"),
  onGems: (gems) => ($("gems").textContent = String(gems)),
  onEquip: (answer) => {
    avatar.setEquipped(answer.equipped);
    store.setEquipped(answer.equipped);
  },
  notify,
  onError: fail,
});

socket.characterId = () => state.character?.character_id;
socket.lastMessageId = () => chat.lastMessageId;

// --- notices -----------------------------------------------------------------

let noticeTimer = null;
function notify(text, kind = "info") {
  const notice = $("notice");
  notice.textContent = text;
  notice.className = `notice ${kind}`;
  notice.setAttribute("role", kind === "error" ? "alert" : "status");
  notice.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => (notice.hidden = true), kind === "error" ? 8000 : 4000);
}

function fail(error) {
  console.error(error);
  notify(t("error", { detail: error?.message || String(error) }), "error");
}

// --- language ----------------------------------------------------------------

$("language").value = language();
$("language").addEventListener("change", (event) => setLanguage(event.target.value));
onLanguageChange(() => {
  chat.retranslate();
  setCharacters(state.characters);
  if (state.character) $("character-select").value = state.character.character_id;
  memories.memories && memories.draw();
  days.draw();
  store.draw();
  updateAvatarLabel();
  connectionLabel(socket.state);
  if (state.character) chart.load(state.character.character_id).catch(() => {});
});
translate(document);

// --- sign up / sign in ---------------------------------------------------------

$("auth-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const action = event.submitter?.value || "sign-in";
  const email = form.email.value.trim();
  const password = form.password.value;
  const nickname = form.nickname.value.trim();
  const buttons = form.querySelectorAll("button");
  buttons.forEach((b) => (b.disabled = true));
  try {
    if (action === "sign-up") {
      const name = nickname || email.split("@")[0];
      const timezone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
      await api.register({ email, password, name, nickname: nickname || name, timezone });
    }
    const token = await api.signIn(email, password);
    session.token = token.access_token;
    form.password.value = "";
    await enter();
    if (action === "sign-up") notify(t("signed_up"));
  } catch (error) {
    fail(error);
  } finally {
    buttons.forEach((b) => (b.disabled = false));
  }
});

$("sign-out").addEventListener("click", signOut);
session.onExpired = signOut;
socket.addEventListener("unauthorized", signOut);

function signOut() {
  session.token = null;
  delete document.body.dataset.ready;
  socket.close();
  state.character = null;
  show("auth");
}

function show(view) {
  $("auth-view").hidden = view !== "auth";
  $("app-view").hidden = view !== "app";
  $("sign-out").hidden = view !== "app";
  $("gems-badge").hidden = view !== "app";
  $("character-picker").hidden = view !== "app" || !state.characters.length;
  if (view === "auth") $("auth-form").email.focus();
}

async function enter() {
  state.me = await api.me();
  show("app");
  const [list] = await Promise.all([api.characters(), store.load(null, state.me).then((items) => (state.catalogue = items))]);
  avatar.setCatalogue(state.catalogue);
  socket.open();
  // A character made or imported while the list was loading is already chosen.
  if (!state.character) {
    setCharacters(list.characters || []);
    const kept = localStorage.getItem(CHARACTER_KEY);
    const first = state.characters.find((c) => c.character_id === kept) || state.characters[0];
    if (first) await select(first.character_id);
    else noCharacter();
  }
  document.body.dataset.ready = "true";
}

function noCharacter() {
  $("no-character").hidden = false;
  $("composer").hidden = true;
  $("chat-title").textContent = "";
  $("new-character").focus();
}

// --- characters ------------------------------------------------------------------

function setCharacters(characters) {
  state.characters = characters;
  const select = $("character-select");
  select.replaceChildren(...characters.map((c) => new Option(c.name, c.character_id)));
  $("character-picker").hidden = !characters.length;
  const list = $("character-list");
  list.replaceChildren(
    ...characters.map((c) => {
      const li = document.createElement("li");
      li.className = "character";
      li.dataset.testid = "character";
      const name = document.createElement("span");
      name.className = "item-name";
      name.textContent = c.name;
      const level = document.createElement("span");
      level.className = "hint";
      level.textContent = t("level", { level: c.relationship_level || 1 });
      const talk = document.createElement("button");
      talk.type = "button";
      talk.textContent = t("talk_to");
      talk.setAttribute("aria-label", `${t("talk_to")}: ${c.name}`);
      talk.addEventListener("click", () => select(c.character_id).then(() => $("message-input").focus()));
      li.append(name, level, talk);
      return li;
    }),
  );
}

$("character-select").addEventListener("change", (event) => select(event.target.value).catch(fail));

async function select(characterId) {
  const character = state.characters.find((c) => c.character_id === characterId);
  if (!character) return;
  state.character = character;
  localStorage.setItem(CHARACTER_KEY, characterId);
  $("character-select").value = characterId;
  $("no-character").hidden = true;
  $("composer").hidden = false;
  $("chat-title").textContent = character.name;
  const [look, emotion] = await Promise.all([api.avatar(characterId), api.emotion(characterId), chat.open(character)]);
  if (state.character !== character) return;
  avatar.setEquipped(look.equipped);
  avatar.show(look.expression, look.parameters, 0);
  updateAvatarLabel();
  showMood(emotion.mood, emotion.factors);
  store.character = character;
  store.setEquipped(look.equipped);
  await Promise.all([chart.load(characterId), memories.load(characterId), days.load(characterId)]);
}

function updateAvatarLabel() {
  const expression = $("avatar").dataset.expression || "neutral";
  $("avatar-label").textContent = t("avatar_label", {
    name: state.character?.name || "",
    expression: t(`expression_${expression}`),
  });
}

$("new-character").addEventListener("click", () => {
  const form = $("character-form");
  form.hidden = !form.hidden;
  $("new-character").setAttribute("aria-expanded", String(!form.hidden));
  if (!form.hidden) form.name.focus();
});

$("character-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const text = (name) => form[name].value.trim() || undefined;
  const body = {
    name: form.name.value.trim(),
    nickname: text("nickname") || form.name.value.trim(),
    gender: form.gender.value,
    age: Number(form.age.value),
    occupation: text("occupation"),
    hobbies: (form.hobbies.value || "").split(/[,、]/).map((s) => s.trim()).filter(Boolean),
    personality: Object.fromEntries(
      ["kindness", "humor", "seriousness", "activeness", "empathy"].map((k) => [k, Number(form[k].value)]),
    ),
    backstory: text("backstory"),
  };
  try {
    const created = await api.createCharacter(body);
    form.reset();
    form.hidden = true;
    $("new-character").setAttribute("aria-expanded", "false");
    await added(created.character_id, "created");
  } catch (error) {
    fail(error);
  }
});

async function added(characterId, message) {
  const list = await api.characters();
  setCharacters(list.characters || []);
  await select(characterId);
  notify(t(message, { name: state.character?.name || "" }));
  // Back to her face and the conversation (on a phone the forms are further down).
  window.scrollTo({ top: 0 });
  $("message-input").focus();
}

// --- card import (file or drag-and-drop) -------------------------------------------

async function importCard(file) {
  if (!file) return;
  const age = $("card-age").value || undefined;
  try {
    const created = await api.importCard(file, age);
    $("card-file").value = "";
    await added(created.character_id, "imported");
  } catch (error) {
    fail(error);
  }
}

$("card-file").addEventListener("change", (event) => importCard(event.target.files[0]));
const zone = $("import-zone");
for (const type of ["dragenter", "dragover"]) {
  zone.addEventListener(type, (event) => {
    event.preventDefault();
    zone.classList.add("over");
  });
}
zone.addEventListener("dragleave", () => zone.classList.remove("over"));
zone.addEventListener("drop", (event) => {
  event.preventDefault();
  zone.classList.remove("over");
  importCard(event.dataTransfer.files[0]);
});

// --- chat --------------------------------------------------------------------------

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $("message-input");
  const text = input.value.trim();
  if (!text || !state.character) return;
  chat.send(text);
  input.value = "";
  input.focus();
});

$("message-input").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $("composer").requestSubmit();
  }
});

socket.addEventListener("frame", (event) => {
  const { type, payload } = event.detail;
  chat.handle(type, payload);
  const mine = state.character && payload.character_id === state.character.character_id;
  if (!mine) return;
  if (type === "avatar_expression") {
    avatar.show(payload.expression, payload.parameters, payload.transition_ms ?? 1000);
    updateAvatarLabel();
  } else if (type === "mood_update") {
    showMood(payload.mood, payload.factors);
  } else if (type === "chat_response" && payload.done) {
    const id = state.character.character_id;
    chart.load(id, payload.position).catch(() => {});
    memories.load(id, payload.position).catch(() => {});
    days.load(id).catch(() => {});
  } else if (type === "voice_response" && payload.audio) {
    speak(payload);
  } else if (type === "daily_event") {
    const title = language() === "ja" ? payload.description_ja : payload.title;
    notify(t("daily_event_note", { title: title || payload.title || payload.kind }));
    days.load(state.character.character_id).catch(() => {});
  } else if (type === "resume" && payload.messages?.length) {
    notify(t("caught_up", { count: payload.messages.length }));
    chart.load(state.character.character_id).catch(() => {});
  } else if (type === "error") {
    notify(t("error", { detail: payload.detail || payload.code }), "error");
  }
});

// Voice replies come sentence by sentence: play them in order, the mouth following each.
let voice = Promise.resolve();
function speak(piece) {
  voice = voice.then(
    () =>
      new Promise((resolve) => {
        const audio = new Audio(`data:audio/${piece.format || "mpeg"};base64,${piece.audio}`);
        audio.addEventListener("playing", () => avatar.speak(piece.mouth));
        audio.addEventListener("ended", resolve);
        audio.addEventListener("error", resolve);
        audio.play().catch(resolve);
      }),
  );
}

function connectionLabel(status) {
  const el = $("connection");
  el.dataset.state = status;
  el.textContent = status === "idle" ? "" : t(`connection_${status}`);
}
socket.addEventListener("state", (event) => connectionLabel(event.detail));

document.addEventListener("visibilitychange", () => chat.markRead());

// --- tabs and the dialog -----------------------------------------------------------

const tabs = [...document.querySelectorAll("[role=tab]")];
function activate(tab) {
  for (const other of tabs) {
    const selected = other === tab;
    other.setAttribute("aria-selected", String(selected));
    other.tabIndex = selected ? 0 : -1;
    $(other.getAttribute("aria-controls")).hidden = !selected;
  }
  tab.focus();
}
for (const tab of tabs) {
  tab.addEventListener("click", () => activate(tab));
  tab.addEventListener("keydown", (event) => {
    const i = tabs.indexOf(tab);
    const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    activate(tabs[(next + tabs.length) % tabs.length]);
  });
}
for (const panel of document.querySelectorAll("[role=tabpanel]")) panel.tabIndex = -1;

$("provenance").addEventListener("close", (event) => event.target.returnFocus?.focus());

// --- start ---------------------------------------------------------------------------

if (session.token) enter().catch((error) => (error.status === 401 ? signOut() : fail(error)));
else show("auth");
