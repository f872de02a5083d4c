// The side panels and the provenance dialog: memories, the store, "why did she say that".
import { api } from "./api.js";
import { formatTime, language, t } from "./i18n.js";

function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key in node && key !== "role") node[key] = value;
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child);
  return node;
}

export class Memories {
  constructor(list, { notify, onError }) {
    this.list = list;
    this.notify = notify;
    this.onError = onError;
    this.characterId = null;
  }

  async load(characterId, position) {
    this.characterId = characterId;
    const page = await api.memories(characterId, position);
    if (this.characterId !== characterId) return;
    this.memories = page.memories || [];
    this.draw();
  }

  content(memoryId) {
    return (this.memories || []).find((m) => m.memory_id === memoryId)?.content;
  }

  draw() {
    this.list.replaceChildren();
    if (!this.memories.length) {
      this.list.append(h("li", { className: "empty" }, t("no_memories")));
      return;
    }
    for (const memory of this.memories) {
      const sources = (memory.sources || []).map((source) =>
        h("li", {}, h("q", {}, source.text), " ", h("time", { dateTime: source.at }, formatTime(source.at))),
      );
      const forget = h(
        "button",
        {
          type: "button",
          className: "danger",
          dataset: { testid: "forget" },
          "aria-label": t("forget_label", { content: memory.content }),
          onclick: () => this.forget(memory, forget),
        },
        t("forget"),
      );
      this.list.append(
        h(
          "li",
          { className: "memory", dataset: { testid: "memory", memoryId: memory.memory_id } },
          h("p", { className: "memory-content" }, memory.content),
          h(
            "p",
            { className: "hint" },
            `${memory.type} · ${t("importance", { value: Number(memory.importance).toFixed(2) })} · ${memory.extractor || ""}`,
          ),
          sources.length ? h("details", {}, h("summary", {}, t("learned_from")), h("ul", { className: "sources" }, sources)) : null,
          forget,
        ),
      );
    }
  }

  async forget(memory, button) {
    button.disabled = true;
    try {
      await api.forget(this.characterId, memory.memory_id);
      this.memories = this.memories.filter((m) => m.memory_id !== memory.memory_id);
      this.draw();
      this.notify(t("forgotten"));
      this.list.closest("[role=tabpanel]")?.focus();
    } catch (error) {
      button.disabled = false;
      this.onError(error);
    }
  }
}

// The character's own days (the daily-life events), newest first.
export class Days {
  constructor(list) {
    this.list = list;
    this.characterId = null;
    this.days = [];
  }

  async load(characterId) {
    this.characterId = characterId;
    const page = await api.days(characterId);
    if (this.characterId !== characterId) return;
    this.days = page.days || [];
    this.draw();
  }

  draw() {
    this.list.replaceChildren();
    if (!this.days.length) {
      this.list.append(h("li", { className: "empty" }, t("no_days")));
      return;
    }
    for (const day of this.days) {
      const impact = day.mood_impact > 0 ? `+${day.mood_impact}` : String(day.mood_impact);
      this.list.append(
        h(
          "li",
          { className: "day", dataset: { testid: "day", day: day.day } },
          h("p", { className: "item-name" }, h("time", { dateTime: day.day }, day.day), " ", day.title),
          h("p", {}, language() === "ja" ? day.description_ja : day.description),
          h(
            "p",
            { className: "hint" },
            `${t(`kind_${day.kind}`)} · ${t("mood")} ${impact} · ${day.shared_in ? t("day_told") : t("day_untold")}`,
          ),
        ),
      );
    }
  }
}

export class Store {
  constructor({ items, packs, tiers, tier, onGems, onEquip, notify, onError }) {
    Object.assign(this, { itemsList: items, packsRow: packs, tiersRow: tiers, tierText: tier });
    Object.assign(this, { onGems, onEquip, notify, onError });
    this.items = [];
    this.owned = new Set();
    this.equipped = {};
    this.character = null;
    this.me = null;
  }

  async load(character, me) {
    this.character = character;
    this.me = me;
    const [catalogue, packs, inventory] = await Promise.all([api.storeItems(), api.packs(), api.inventory()]);
    this.items = catalogue.items || [];
    this.packs = packs.packs || [];
    this.inventory = inventory;
    this.onGems(inventory.gems);
    this.draw();
    return this.items;
  }

  setEquipped(equipped) {
    this.equipped = equipped || {};
    this.draw();
  }

  draw() {
    const characterId = this.character?.character_id;
    const owned = new Set(
      (this.inventory?.items || []).filter((i) => i.character_id === characterId).map((i) => i.item_id),
    );
    const tier = this.me?.subscription_tier || "free";
    this.tierText.textContent = t(`tier_${tier}`);
    this.tiersRow.replaceChildren(
      ...["premium", "ultimate"]
        .filter((name) => name !== tier)
        .map((name) =>
          h("button", { type: "button", onclick: () => this.subscribe(name) }, t("subscribe", { tier: t(`tier_${name}`) })),
        ),
      ...(tier !== "free" ? [h("button", { type: "button", onclick: () => this.unsubscribe() }, t("cancel_subscription"))] : []),
    );
    this.packsRow.replaceChildren(
      ...(this.packs || []).map((pack) =>
        h(
          "button",
          { type: "button", dataset: { testid: "gem-pack", packId: pack.pack_id }, onclick: (e) => this.checkout(pack, e.currentTarget) },
          t("buy_pack", { gems: pack.gems, yen: pack.price_yen.toLocaleString() }),
        ),
      ),
    );
    this.itemsList.replaceChildren();
    const level = this.character?.relationship_level || 1;
    for (const item of this.items) {
      const isOwned = owned.has(item.item_id);
      const isEquipped = this.equipped[item.category] === item.item_id;
      const tags = [t(`category_${item.category}`), t(`rarity_${item.rarity}`)];
      if (item.is_premium) tags.push(t("premium"));
      if (item.min_level > 1) tags.push(t("level_needed", { level: item.min_level }));
      const action = isOwned
        ? h(
            "button",
            {
              type: "button",
              dataset: { testid: "equip" },
              disabled: isEquipped || !characterId,
              "aria-label": t("equip_label", { name: item.name }),
              onclick: (e) => this.equip(item, e.currentTarget),
            },
            isEquipped ? t("equipped") : t("equip"),
          )
        : h(
            "button",
            {
              type: "button",
              className: "primary",
              dataset: { testid: "buy" },
              disabled: !characterId || item.min_level > level,
              "aria-label": t("buy_label", { name: item.name, price: item.price_gems }),
              onclick: (e) => this.buy(item, e.currentTarget),
            },
            `${t("buy")} · ${t("price_gems", { price: item.price_gems })}`,
          );
      this.itemsList.append(
        h(
          "li",
          {
            className: `store-item rarity-${item.rarity}`,
            dataset: { testid: "store-item", itemId: item.item_id, owned: String(isOwned), equipped: String(isEquipped) },
          },
          h("span", { className: "item-name" }, item.name),
          h("span", { className: "hint" }, tags.join(" · ")),
          action,
        ),
      );
    }
  }

  async refresh() {
    this.inventory = await api.inventory();
    this.me = await api.me();
    this.onGems(this.inventory.gems);
    this.draw();
  }

  async checkout(pack, button) {
    button.disabled = true;
    try {
      const answer = await api.checkout(pack.pack_id);
      if (answer.url) {
        location.assign(answer.url);
        return;
      }
      await this.refresh();
      this.notify(t("bought_gems", { gems: pack.gems }));
    } catch (error) {
      this.onError(error);
    } finally {
      button.disabled = false;
    }
  }

  async buy(item, button) {
    button.disabled = true;
    try {
      const answer = await api.buy(item.item_id, this.character.character_id);
      this.onGems(answer.gems);
      await this.refresh();
      this.notify(t("bought", { name: item.name }));
      this.itemsList.querySelector(`[data-item-id="${item.item_id}"] button`)?.focus();
    } catch (error) {
      button.disabled = false;
      this.onError(error);
    }
  }

  async equip(item, button) {
    button.disabled = true;
    try {
      const avatar = await api.equip(this.character.character_id, item.category, item.item_id);
      this.onEquip(avatar);
    } catch (error) {
      button.disabled = false;
      this.onError(error);
    }
  }

  async subscribe(tier) {
    try {
      await api.subscribe(tier);
      await this.refresh();
    } catch (error) {
      this.onError(error);
    }
  }

  async unsubscribe() {
    try {
      await api.unsubscribe();
      await this.refresh();
    } catch (error) {
      this.onError(error);
    }
  }
}

// "Why did she say that": what went into each take of a reply.
export async function showProvenance(dialog, characterId, messageId, { memories, textOf, opener }) {
  const body = dialog.querySelector("#provenance-body");
  body.replaceChildren(h("p", { className: "hint" }, "…"));
  dialog.returnFocus = opener;
  if (!dialog.open) dialog.showModal();
  const answer = await api.provenance(characterId, messageId);
  body.replaceChildren();
  dialog.dataset.messageId = messageId;
  for (const take of answer.takes || []) {
    const prompt = take.prompt || {};
    const model = prompt.model || {};
    const facts = [
      [t("model"), [model.model || take.model, model.temperature != null ? `T=${model.temperature}` : null, model.max_tokens ? `max ${model.max_tokens}` : null].filter(Boolean).join(" · ")],
      [t("mood_then"), prompt.mood],
      [t("relationship"), prompt.relationship_level],
      [t("persona_version"), prompt.persona_version],
      [t("daily_event"), describeEvent(prompt.daily_event)],
    ];
    const recalled = (prompt.memories || []).map((m) =>
      h("li", { dataset: { testid: "provenance-memory" } }, memories(m.memory_id) || t("forgotten_memory"), " ", h("small", {}, t("score", { score: Number(m.score).toFixed(2) }))),
    );
    const retrieved = (prompt.retrieved_messages || []).map((m) =>
      h("li", {}, textOf(m.message_id) || m.message_id, " ", h("small", {}, t("score", { score: Number(m.score).toFixed(2) }))),
    );
    const recent = (prompt.recent_turns || []).map((turn) => h("li", {}, typeof turn === "string" ? textOf(turn) || turn : textOf(turn.message_id) || turn.text || turn.message_id || JSON.stringify(turn)));
    body.append(
      h(
        "section",
        { className: "take", dataset: { testid: "provenance-take" } },
        h("h3", {}, t("take", { n: take.alternative })),
        h("blockquote", {}, take.text),
        h("dl", {}, facts.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v === null || v === undefined || v === "" ? t("none") : String(v))])),
        h("h4", {}, t("memories_recalled")),
        recalled.length ? h("ul", {}, recalled) : h("p", { className: "hint" }, t("none")),
        h("h4", {}, t("messages_recalled")),
        retrieved.length ? h("ul", {}, retrieved) : h("p", { className: "hint" }, t("none")),
        recent.length ? h("details", {}, h("summary", {}, t("recent_turns")), h("ul", {}, recent)) : null,
      ),
    );
  }
  dialog.querySelector("button").focus();
}

function describeEvent(event) {
  if (!event) return null;
  if (typeof event === "string") return event;
  return event.title || event.description || event.kind || JSON.stringify(event);
}
