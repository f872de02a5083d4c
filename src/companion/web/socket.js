// The chat socket: frames {id, type, timestamp, payload}, heartbeats, and a
// reconnect that asks for what was missed (`resume` with the last message id).
const HEARTBEAT_MS = 20000;
const MAX_BACKOFF_MS = 8000;

export class ChatSocket extends EventTarget {
  constructor(tokenOf) {
    super();
    this.tokenOf = tokenOf;
    this.ws = null;
    this.state = "idle";
    this.wanted = false;
    this.attempt = 0;
    this.outbox = [];
    this.timer = null;
    this.heartbeat = null;
    this.lastMessageId = () => null;
    this.characterId = () => null;
    this.everConnected = false;
    addEventListener("offline", () => this.drop());
    addEventListener("online", () => this.reconnectSoon(0));
  }

  open() {
    this.wanted = true;
    this.connect();
  }

  close() {
    this.wanted = false;
    clearTimeout(this.timer);
    this.stopHeartbeat();
    if (this.ws) this.ws.close(1000);
    this.ws = null;
    this.setState("idle");
  }

  // The network went away: let go of the socket now rather than wait for it to time out.
  drop() {
    if (!this.wanted) return;
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close(4000);
    }
    this.stopHeartbeat();
    this.setState("offline");
  }

  connect() {
    if (!this.wanted || this.ws) return;
    if (!navigator.onLine) {
      this.setState("offline");
      return;
    }
    this.setState(this.everConnected ? "reconnecting" : "connecting");
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/api/v1/ws?token=${encodeURIComponent(this.tokenOf())}`);
    this.ws = ws;
    ws.addEventListener("message", (event) => {
      if (this.ws !== ws) return;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame.type === "connection_status") this.connected(frame);
      this.dispatchEvent(new CustomEvent(frame.type, { detail: frame.payload }));
      this.dispatchEvent(new CustomEvent("frame", { detail: frame }));
    });
    ws.addEventListener("close", (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.stopHeartbeat();
      if (event.code === 4401) {
        this.wanted = false;
        this.setState("idle");
        this.dispatchEvent(new CustomEvent("unauthorized"));
        return;
      }
      this.reconnectSoon();
    });
  }

  connected() {
    const resuming = this.everConnected;
    this.everConnected = true;
    this.attempt = 0;
    this.setState("connected");
    this.startHeartbeat();
    const characterId = this.characterId();
    const last = this.lastMessageId();
    if (resuming && characterId && last) this.send("resume", { character_id: characterId, last_message_id: last });
    const pending = this.outbox.splice(0);
    for (const [type, payload] of pending) this.send(type, payload);
  }

  reconnectSoon(delay) {
    if (!this.wanted) return;
    clearTimeout(this.timer);
    const wait = delay ?? Math.min(MAX_BACKOFF_MS, 250 * 2 ** this.attempt);
    this.attempt += 1;
    this.setState(navigator.onLine ? "reconnecting" : "offline");
    this.timer = setTimeout(() => this.connect(), wait);
  }

  // Sends now, or once connected again (chat messages carry a client_message_id,
  // so a message sent twice is stored once).
  send(type, payload) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN && this.state === "connected") {
      this.ws.send(JSON.stringify({ id: crypto.randomUUID(), type, timestamp: new Date().toISOString(), payload }));
      return true;
    }
    if (type !== "heartbeat") this.outbox.push([type, payload]);
    return false;
  }

  startHeartbeat() {
    this.stopHeartbeat();
    this.heartbeat = setInterval(() => this.send("heartbeat", {}), HEARTBEAT_MS);
  }

  stopHeartbeat() {
    clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: state }));
  }
}
