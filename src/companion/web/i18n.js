// The client's two languages: the browser's choice first, then the person's, kept.
import en from "./i18n-en.js";
import ja from "./i18n-ja.js";

const CATALOGUES = { en, ja };
const KEY = "companion.language";
const listeners = new Set();
let current = pick();

function pick() {
  const kept = localStorage.getItem(KEY);
  if (kept && kept in CATALOGUES) return kept;
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (base in CATALOGUES) return base;
  }
  return "en";
}

export function language() {
  return current;
}

export function t(key, vars = {}) {
  const text = CATALOGUES[current][key] ?? en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

export function setLanguage(lang) {
  if (!(lang in CATALOGUES)) return;
  current = lang;
  localStorage.setItem(KEY, lang);
  translate(document);
  for (const listener of listeners) listener(lang);
}

export function onLanguageChange(listener) {
  listeners.add(listener);
}

export function translate(root) {
  document.documentElement.lang = current;
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
}

export function formatTime(iso) {
  return new Intl.DateTimeFormat(current, { dateStyle: "short", timeStyle: "short" }).format(new Date(iso));
}
