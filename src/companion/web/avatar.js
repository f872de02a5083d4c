// A 2D avatar in SVG, driven by the server's Live2D-style parameters:
// eye_open, eye_smile, brow_angle (-1 frown .. 1 raised), mouth_form (-1 down ..
// 1 smile), mouth_open, cheek_blush. Expressions change over transition_ms with
// an ease-in-out curve; `mouth` is a separate input for lip sync from audio.
const NS = "http://www.w3.org/2000/svg";
const NEUTRAL = { eye_open: 0.9, eye_smile: 0.1, brow_angle: 0, mouth_form: 0.1, mouth_open: 0.05, cheek_blush: 0.05 };

// Known catalogue items by name; anything else is drawn by its slot.
const LOOKS = {
  "round glasses": "glasses",
  "heart pendant": "pendant",
  "angel halo": "halo",
  "short bob": "bob",
  "long waves": "waves",
  "starlight braid": "braid",
  "casual hoodie": "hoodie",
  "summer yukata": "yukata",
  "evening gown": "gown",
};

function el(name, attrs = {}, parent = null) {
  const node = document.createElementNS(NS, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (parent) parent.appendChild(node);
  return node;
}

export function easeInOut(x) {
  return x < 0.5 ? 4 * x * x * x : 1 - (-2 * x + 2) ** 3 / 2;
}

export class Avatar {
  constructor(svg) {
    this.svg = svg;
    this.current = { ...NEUTRAL };
    this.from = { ...NEUTRAL };
    this.target = { ...NEUTRAL };
    this.started = 0;
    this.duration = 0;
    this.mouthLevel = 0;
    this.blink = 1;
    this.frame = null;
    this.catalogue = new Map();
    this.equipped = {};
    this.build();
    this.draw();
    this.scheduleBlink();
  }

  build() {
    const svg = this.svg;
    svg.replaceChildren();
    const defs = el("defs", {}, svg);
    const glow = el("radialGradient", { id: "avatar-bg" }, defs);
    el("stop", { offset: "0%", "stop-color": "#fff4f8" }, glow);
    el("stop", { offset: "100%", "stop-color": "#f3e6ff" }, glow);
    el("rect", { x: 0, y: 0, width: 200, height: 220, rx: 18, fill: "url(#avatar-bg)" }, svg);
    this.halo = el("ellipse", { cx: 100, cy: 30, rx: 34, ry: 7, fill: "none", stroke: "#e6b800", "stroke-width": 4, "data-item-look": "halo" }, svg);
    this.hairBack = el("path", { fill: "#5b3a29" }, svg);
    this.body = el("path", { d: "M30 220 C40 180 70 172 100 172 C130 172 160 180 170 220 Z", fill: "#8fb3e8" }, svg);
    this.collar = el("path", { d: "M84 172 L100 192 L116 172", fill: "none", stroke: "#ffffff", "stroke-width": 3 }, svg);
    el("rect", { x: 90, y: 150, width: 20, height: 26, fill: "#f8d5bf" }, svg);
    this.pendant = el("path", { d: "M100 200 c-6 -8 -14 -2 -7 6 l7 7 l7 -7 c7 -8 -1 -14 -7 -6 z", fill: "#e0245e", "data-item-look": "pendant" }, svg);
    el("ellipse", { cx: 100, cy: 100, rx: 52, ry: 60, fill: "#ffe3d1" }, svg);
    this.hairFront = el("path", { fill: "#5b3a29" }, svg);
    this.braid = el("path", { d: "M146 100 q14 30 2 60 q-6 12 4 24", fill: "none", stroke: "#c9b3ff", "stroke-width": 10, "stroke-linecap": "round", "data-item-look": "braid" }, svg);
    this.blushes = [124, 124].map((cy, i) => el("ellipse", { cx: i ? 132 : 68, cy, rx: 11, ry: 6, fill: "#ff7f9f" }, svg));
    this.eyes = [80, 120].map((cx) => el("ellipse", { cx, cy: 106, rx: 6.5, fill: "#3b2b3f" }, svg));
    this.shines = [82, 122].map((cx) => el("circle", { cx, cy: 103, r: 1.8, fill: "#ffffff" }, svg));
    this.lids = [80, 120].map(() => el("path", { fill: "none", stroke: "#3b2b3f", "stroke-width": 2.5, "stroke-linecap": "round" }, svg));
    this.brows = [0, 1].map(() => el("path", { fill: "none", stroke: "#4a3020", "stroke-width": 3, "stroke-linecap": "round" }, svg));
    this.mouth = el("path", { fill: "#b4364d", stroke: "#7a2233", "stroke-width": 1.6, "stroke-linejoin": "round" }, svg);
    this.glasses = el("g", { fill: "none", stroke: "#333", "stroke-width": 2, "data-item-look": "glasses" }, svg);
    el("circle", { cx: 80, cy: 106, r: 13 }, this.glasses);
    el("circle", { cx: 120, cy: 106, r: 13 }, this.glasses);
    el("path", { d: "M93 106 q7 -5 14 0" }, this.glasses);
    this.sparkle = el("path", { d: "M150 48 l3 8 l8 3 l-8 3 l-3 8 l-3 -8 l-8 -3 l8 -3 z", fill: "#ffcf33", "data-item-look": "sparkle" }, svg);
    this.items = el("g", { "data-testid": "avatar-items" }, svg);
  }

  // The equipped items, drawn on the avatar: {slot: item_id}, named through the catalogue.
  setCatalogue(items) {
    this.catalogue = new Map(items.map((item) => [item.item_id, item]));
    this.setEquipped(this.equipped);
  }

  setEquipped(equipped) {
    this.equipped = equipped || {};
    const looks = new Set();
    let hairColour = "#5b3a29";
    let outfit = "#8fb3e8";
    this.items.replaceChildren();
    for (const [slot, itemId] of Object.entries(this.equipped)) {
      const item = this.catalogue.get(itemId);
      const look = LOOKS[(item?.name || "").toLowerCase()] || slot;
      looks.add(look);
      el("desc", { "data-slot": slot, "data-item-id": itemId }, this.items).textContent = item?.name || slot;
      if (look === "bob") hairColour = "#2e1f1a";
      if (look === "waves") hairColour = "#a0522d";
      if (look === "braid") hairColour = "#6f5bb5";
      if (look === "hair") hairColour = "#8a5a44";
      if (look === "hoodie") outfit = "#7aa37a";
      if (look === "yukata") outfit = "#e58fb0";
      if (look === "gown") outfit = "#3d2a6b";
      if (look === "outfit") outfit = "#d9a441";
    }
    this.svg.dataset.equipped = Object.keys(this.equipped).sort().join(" ");
    this.halo.style.display = looks.has("halo") ? "" : "none";
    this.pendant.style.display = looks.has("pendant") ? "" : "none";
    this.glasses.style.display = looks.has("glasses") ? "" : "none";
    this.braid.style.display = looks.has("braid") ? "" : "none";
    this.sparkle.style.display = looks.has("accessories") || looks.has("expressions") ? "" : "none";
    this.hairBack.setAttribute("fill", hairColour);
    this.hairFront.setAttribute("fill", hairColour);
    this.braid.setAttribute("stroke", hairColour === "#6f5bb5" ? "#c9b3ff" : hairColour);
    this.body.setAttribute("fill", outfit);
    this.collar.style.display = looks.has("yukata") ? "none" : "";
    const short = looks.has("bob");
    this.hairBack.setAttribute(
      "d",
      short
        ? "M44 110 C40 40 160 40 156 110 L156 140 L44 140 Z"
        : looks.has("waves")
          ? "M42 100 C36 30 164 30 158 100 C170 140 150 170 160 200 L40 200 C50 170 30 140 42 100 Z"
          : "M44 100 C40 34 160 34 156 100 L160 168 L40 168 Z",
    );
    this.hairFront.setAttribute("d", "M44 104 C38 12 162 12 156 104 C146 70 122 60 100 72 C80 60 58 68 44 104 Z");
  }

  // Moves to an expression's parameters over `ms` milliseconds, eased in and out.
  show(expression, parameters, ms = 1000) {
    this.svg.dataset.expression = expression;
    this.from = { ...this.current };
    this.target = { ...NEUTRAL, ...(parameters || {}) };
    this.duration = Math.max(0, ms);
    this.started = performance.now();
    this.run();
  }

  // Lip sync: 0 (closed) .. 1 (wide open), added to the expression's own mouth_open.
  set mouthOpen(level) {
    this.mouthLevel = Math.max(0, Math.min(1, Number(level) || 0));
    this.run();
  }

  get mouthOpen() {
    return this.mouthLevel;
  }

  // Lip sync from a mouth track {fps, values} (as voice replies carry), started with the audio.
  speak(mouth) {
    clearInterval(this.speaking);
    const values = mouth?.values || [];
    if (!values.length) return;
    let i = 0;
    this.speaking = setInterval(() => {
      this.mouthOpen = values[i] ?? 0;
      i += 1;
      if (i > values.length) clearInterval(this.speaking);
    }, 1000 / (mouth.fps || 30));
  }

  run() {
    if (this.frame) return;
    const tick = (now) => {
      const progress = this.duration ? Math.min(1, (now - this.started) / this.duration) : 1;
      const eased = easeInOut(progress);
      for (const key of Object.keys(this.target)) {
        this.current[key] = this.from[key] + (this.target[key] - this.from[key]) * eased;
      }
      this.draw();
      this.frame = progress < 1 ? requestAnimationFrame(tick) : null;
    };
    this.frame = requestAnimationFrame(tick);
  }

  scheduleBlink() {
    if (matchMedia("(prefers-reduced-motion: reduce)").matches) return;
    setTimeout(() => {
      this.blink = 0.1;
      this.draw();
      setTimeout(() => {
        this.blink = 1;
        this.draw();
        this.scheduleBlink();
      }, 140);
    }, 2500 + Math.random() * 3000);
  }

  draw() {
    const p = this.current;
    this.svg.dataset.mouthOpen = Math.max(p.mouth_open, this.mouthLevel).toFixed(2);
    const open = Math.max(0.06, p.eye_open * (1 - 0.8 * p.eye_smile) * this.blink);
    this.eyes.forEach((eye) => eye.setAttribute("ry", (9 * open).toFixed(2)));
    this.shines.forEach((shine) => shine.setAttribute("opacity", open > 0.35 ? 1 : 0));
    this.lids.forEach((lid, i) => {
      const x = i ? 120 : 80;
      const lift = 7 * p.eye_smile;
      lid.setAttribute("d", `M${x - 8} 107 Q${x} ${107 - lift - 2} ${x + 8} 107`);
      lid.setAttribute("opacity", Math.min(1, p.eye_smile * 1.6).toFixed(2));
    });
    const brow = p.brow_angle;
    this.brows.forEach((path, i) => {
      const outer = i ? 132 : 68;
      const inner = i ? 110 : 90;
      const base = 88 - 3 * brow;
      path.setAttribute("d", `M${outer} ${base + 1} Q${(outer + inner) / 2} ${base - 4} ${inner} ${base + 3 - 5 * brow}`);
    });
    this.blushes.forEach((blush) => blush.setAttribute("opacity", (0.85 * p.cheek_blush).toFixed(2)));
    const form = p.mouth_form;
    const gap = 16 * Math.max(p.mouth_open, this.mouthLevel);
    const corner = 140 - 5 * form;
    const upper = 140 + 4 * form;
    const lower = upper + gap + 2 + 3 * Math.max(0, form);
    const half = 11 + 3 * Math.abs(form);
    this.mouth.setAttribute(
      "d",
      `M${100 - half} ${corner.toFixed(2)} Q100 ${upper.toFixed(2)} ${100 + half} ${corner.toFixed(2)} Q100 ${lower.toFixed(2)} ${100 - half} ${corner.toFixed(2)} Z`,
    );
  }
}
