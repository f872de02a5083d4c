// The REST half of API.md: JSON in, JSON out, the bearer token from sign-in.
const TOKEN_KEY = "companion.token";

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.detail || `HTTP ${status}`);
    this.status = status;
    this.code = body?.extra?.code || "error";
    this.body = body;
  }
}

export const session = {
  get token() {
    return localStorage.getItem(TOKEN_KEY);
  },
  set token(value) {
    if (value) localStorage.setItem(TOKEN_KEY, value);
    else localStorage.removeItem(TOKEN_KEY);
  },
  onExpired: () => {},
};

export async function request(method, path, { json, body, contentType, query, position } = {}) {
  const headers = {};
  // A turn made over the socket is read after by sending its place in the log back.
  if (position !== undefined && position !== null) headers["X-Consistency-Position"] = String(position);
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  let payload = body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(json);
  } else if (contentType) {
    headers["Content-Type"] = contentType;
  }
  let url = `/api/v1${path}`;
  if (query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== "") params.set(key, value);
    }
    if ([...params].length) url += `?${params}`;
  }
  const response = await fetch(url, { method, headers, body: payload });
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    if (response.status === 401 && session.token) session.onExpired();
    throw new ApiError(response.status, data);
  }
  return data;
}

export const api = {
  register: (body) => request("POST", "/auth/register", { json: body }),
  signIn: (email, password) => request("POST", "/auth/token", { json: { email, password } }),
  me: () => request("GET", "/me"),
  characters: () => request("GET", "/characters"),
  createCharacter: (body) => request("POST", "/characters", { json: body }),
  importCard: (file, age) => {
    const png = file.type === "image/png" || /\.png$/i.test(file.name);
    return request("POST", "/characters/import", {
      body: file,
      contentType: png ? "image/png" : "application/json",
      query: { age },
    });
  },
  messages: (id, before) => request("GET", `/characters/${id}/messages`, { query: { before, limit: 50 } }),
  choose: (id, messageId, alternative) =>
    request("PUT", `/characters/${id}/messages/${messageId}/choice`, { json: { alternative } }),
  provenance: (id, messageId) => request("GET", `/characters/${id}/messages/${messageId}/provenance`),
  emotion: (id, at) => request("GET", `/characters/${id}/emotion`, { query: { at } }),
  emotionHistory: (id, position) => request("GET", `/characters/${id}/emotion/history`, { position }),
  memories: (id, position) => request("GET", `/characters/${id}/memories`, { position }),
  days: (id) => request("GET", `/characters/${id}/days`),
  forget: (id, memoryId) => request("DELETE", `/characters/${id}/memories/${memoryId}`),
  avatar: (id) => request("GET", `/characters/${id}/avatar`),
  equip: (id, slot, itemId) =>
    request("PUT", `/characters/${id}/avatar/equipment`, { json: { slot, item_id: itemId } }),
  storeItems: () => request("GET", "/store/items"),
  buy: (itemId, characterId) =>
    request("POST", "/store/purchases", {
      json: { item_id: itemId, character_id: characterId, idempotency_key: crypto.randomUUID() },
    }),
  inventory: () => request("GET", "/inventory"),
  packs: () => request("GET", "/gems/packs"),
  checkout: (packId) => request("POST", "/gems/checkout", { json: { pack_id: packId } }),
  subscribe: (tier) => request("POST", "/subscriptions", { json: { tier } }),
  unsubscribe: () => request("DELETE", "/subscriptions"),
};
