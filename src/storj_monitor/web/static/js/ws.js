// WebSocket client: connects to /ws (carrying ?token= when the page has one), reconnects with
// backoff when the monitor goes away, and reports its state (connecting | connected |
// disconnected) to listeners. Messages are dispatched by their "type".

const MIN_DELAY_MS = 500;
const MAX_DELAY_MS = 10000;
// The server pushes stats_update about every 2 s; this long without any message means the
// connection is dead even if the socket has not noticed (a dropped network, a frozen server).
const SILENCE_MS = 20000;

export function authToken() {
  return new URLSearchParams(window.location.search).get("token");
}

/** Same-origin URL with the auth token (if any) added as a query parameter. */
export function withToken(path) {
  const url = new URL(path, window.location.href);
  const token = authToken();
  if (token) url.searchParams.set("token", token);
  return url;
}

export class WsClient {
  constructor(path = "/ws") {
    this.path = path;
    this.ws = null;
    this.state = "connecting";
    this.handlers = new Map();
    this.stateListeners = new Set();
    this.delay = MIN_DELAY_MS;
    this.timer = null;
    this.retryAt = null;
    this.attempts = 0;
    this.lastMessage = 0;
    setInterval(() => this.checkSilence(), 5000);
  }

  checkSilence() {
    if (this.state === "connected" && this.ws && Date.now() - this.lastMessage > SILENCE_MS) {
      console.warn("storj_monitor: no message from the monitor for 20 s; reconnecting");
      const ws = this.ws;
      this.ws = null;
      ws.close();
      this.scheduleReconnect();
    }
  }

  url() {
    const url = withToken(this.path);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    return url.toString();
  }

  /** Register a handler for a message type ("*" gets every message). */
  on(type, fn) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(fn);
    return () => this.handlers.get(type).delete(fn);
  }

  onState(fn) {
    this.stateListeners.add(fn);
    fn(this.state, this);
    return () => this.stateListeners.delete(fn);
  }

  setState(state) {
    this.state = state;
    for (const fn of this.stateListeners) fn(state, this);
  }

  connect() {
    clearTimeout(this.timer);
    this.timer = null;
    this.retryAt = null;
    this.setState("connecting");
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.addEventListener("open", () => {
      if (this.ws !== ws) return;
      this.delay = MIN_DELAY_MS;
      this.attempts = 0;
      this.lastMessage = Date.now();
      this.setState("connected");
    });
    ws.addEventListener("message", (event) => {
      if (this.ws !== ws || typeof event.data !== "string") return;
      this.lastMessage = Date.now();
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch {
        console.warn("storj_monitor: ignoring a message that is not JSON");
        return;
      }
      if (!msg || typeof msg.type !== "string") return;
      this.dispatch(msg.type, msg);
    });
    // A failed attempt fires "error" then "close"; only "close" drives the reconnect.
    ws.addEventListener("close", () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.scheduleReconnect();
    });
  }

  dispatch(type, msg) {
    for (const key of [type, "*"]) {
      const set = this.handlers.get(key);
      if (!set) continue;
      for (const fn of set) {
        try {
          fn(msg);
        } catch (err) {
          console.warn(`storj_monitor: handler for ${type} failed`, err);
        }
      }
    }
  }

  scheduleReconnect() {
    this.attempts += 1;
    const jitter = Math.random() * 0.3 * this.delay;
    const wait = Math.min(this.delay + jitter, MAX_DELAY_MS);
    this.delay = Math.min(this.delay * 2, MAX_DELAY_MS);
    this.retryAt = Date.now() + wait;
    this.setState("disconnected");
    this.timer = setTimeout(() => this.connect(), wait);
  }

  /** Reconnect now (the "retry" link of the indicator). */
  retryNow() {
    if (this.state === "disconnected") {
      this.delay = MIN_DELAY_MS;
      this.connect();
    }
  }

  /** Send a request; false when not connected (callers re-request on the next connect). */
  send(msg) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }
}
