// The mood meter and the mood-over-time chart (SVG); hovering or focusing a
// point asks the emotion route for the factors of that change.
import { api } from "./api.js";
import { formatTime, t } from "./i18n.js";

const NS = "http://www.w3.org/2000/svg";
const W = 320;
const H = 120;
const PAD = 12;

function el(name, attrs = {}, parent = null) {
  const node = document.createElementNS(NS, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (parent) parent.appendChild(node);
  return node;
}

export function showMood(mood, factors) {
  const meter = document.getElementById("mood");
  meter.value = mood;
  meter.dataset.mood = String(mood);
  document.getElementById("mood-value").textContent = `${mood > 0 ? "+" : ""}${mood}`;
  const list = document.getElementById("mood-factors");
  list.replaceChildren();
  for (const factor of factors || []) {
    if (!factor.influence) continue;
    list.appendChild(factorItem(factor));
  }
}

function factorItem(factor) {
  const li = document.createElement("li");
  const sign = factor.influence > 0 ? "+" : "";
  li.className = factor.influence > 0 ? "up" : "down";
  li.textContent = `${sign}${Number(factor.influence).toFixed(1)} ${factor.description}`;
  return li;
}

export class MoodChart {
  constructor(svg, tip) {
    this.svg = svg;
    this.tip = tip;
    this.characterId = null;
    this.cache = new Map();
    svg.addEventListener("mouseleave", () => this.hideTip());
  }

  async load(characterId, position) {
    this.characterId = characterId;
    this.cache.clear();
    const history = await api.emotionHistory(characterId, position);
    if (this.characterId === characterId) this.draw(history.points || []);
  }

  draw(points) {
    const svg = this.svg;
    svg.replaceChildren();
    el("rect", { x: 0, y: 0, width: W, height: H, fill: "#fffafc", rx: 8 }, svg);
    const y = (mood) => PAD + ((100 - mood) / 200) * (H - 2 * PAD);
    el("line", { x1: PAD, x2: W - PAD, y1: y(0), y2: y(0), stroke: "#b9aec4", "stroke-dasharray": "4 4" }, svg);
    if (!points.length) {
      const text = el("text", { x: W / 2, y: H / 2 + 4, "text-anchor": "middle", fill: "#5c5066", "font-size": 12 }, svg);
      text.textContent = t("chart_empty");
      return;
    }
    const times = points.map((p) => Date.parse(p.at));
    const first = Math.min(...times);
    const span = Math.max(1, Math.max(...times) - first);
    const x = (at) => (points.length === 1 ? W / 2 : PAD + ((Date.parse(at) - first) / span) * (W - 2 * PAD));
    const line = points.map((p, i) => `${i ? "L" : "M"}${x(p.at).toFixed(1)} ${y(p.mood).toFixed(1)}`).join(" ");
    el("path", { d: line, fill: "none", stroke: "#b03a7a", "stroke-width": 2 }, svg);
    for (const point of points) {
      const label = t("chart_point", {
        time: formatTime(point.at),
        mood: point.mood,
        expression: t(`expression_${point.expression}`),
      });
      const dot = el(
        "circle",
        {
          cx: x(point.at).toFixed(1),
          cy: y(point.mood).toFixed(1),
          r: 5,
          fill: "#b03a7a",
          tabindex: 0,
          role: "img",
          "aria-label": label,
          "data-testid": "mood-point",
          class: "point",
        },
        svg,
      );
      el("title", {}, dot).textContent = label;
      const show = () => this.explain(point, dot, label);
      dot.addEventListener("mouseenter", show);
      dot.addEventListener("focus", show);
      dot.addEventListener("blur", () => this.hideTip());
    }
  }

  async explain(point, dot, label) {
    const characterId = this.characterId;
    let factors = this.cache.get(point.at);
    this.showTip(dot, label, null);
    if (!factors) {
      try {
        factors = (await api.emotion(characterId, point.at)).factors || [];
      } catch {
        factors = [];
      }
      this.cache.set(point.at, factors);
    }
    if (this.characterId === characterId && this.tip.dataset.at === label) this.showTip(dot, label, factors);
  }

  showTip(dot, label, factors) {
    const tip = this.tip;
    tip.dataset.at = label;
    tip.replaceChildren();
    const head = document.createElement("strong");
    head.textContent = label;
    tip.appendChild(head);
    if (factors) {
      const list = document.createElement("ul");
      list.className = "factors";
      for (const factor of factors) if (factor.influence) list.appendChild(factorItem(factor));
      tip.appendChild(list);
    }
    const box = this.svg.getBoundingClientRect();
    const at = dot.getBoundingClientRect();
    tip.style.left = `${Math.max(0, Math.min(box.width - 220, at.left - box.left - 100))}px`;
    tip.style.top = `${at.bottom - box.top + 6}px`;
    tip.hidden = false;
    this.svg.setAttribute("aria-describedby", "chart-tip");
  }

  hideTip() {
    this.tip.hidden = true;
    this.tip.dataset.at = "";
  }
}
