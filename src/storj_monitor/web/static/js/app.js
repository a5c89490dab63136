// Page state shared by the cards: the node list (from `init`), the selected view, and the
// request helpers. Cards subscribe to message types and to view changes; they never talk to
// each other.

import { withToken } from "./ws.js";
import { levelOf, TONES } from "./format.js";

export const AGGREGATE = "Aggregate";
const VIEW_KEY = "storj_monitor.view";
// Requests on the wire at once; more wait here (the server answers at most 32 pending per
// socket with an error), so a view of 50 nodes loses no request.
const MAX_IN_FLIGHT = 16;

export class App {
  constructor(ws) {
    this.ws = ws;
    this.nodes = []; // [{name, has_api}]
    this.view = [AGGREGATE];
    this.viewListeners = new Set();
    this.nodesListeners = new Set();
    this.ready = false; // true once `init` arrived on the current connection
    this.thresholds = {}; // init.thresholds: {name: {warning, critical, direction, unit, ...}}
    this.severityRank = { info: 0, warning: 1, critical: 2 }; // init.severity_rank (model.py)
    this.settings = {}; // init.settings: the few settings the page needs (events_detail_hours, ...)
    this.seq = 0;
    this.pending = new Map(); // request id -> request type, to route errors to the card
    ws.on("error", (msg) => {
      const type = this.pending.get(msg.id);
      if (type) ws.dispatch(`error:${type}`, msg);
    });
    this.inFlight = new Set(); // ids sent and not answered yet
    this.queued = []; // requests waiting for a free slot
    ws.on("init", () => { // a new connection: nothing of the old one is answered any more
      this.inFlight.clear();
      this.queued = [];
    });
    ws.on("*", (msg) => {
      if (msg.id !== undefined && this.inFlight.delete(msg.id)) this.pump();
    });
  }

  sendNow(msg) {
    if (!this.ws.send(msg)) return false;
    this.inFlight.add(msg.id);
    return true;
  }

  pump() {
    while (this.queued.length && this.inFlight.size < MAX_IN_FLIGHT) {
      if (!this.sendNow(this.queued.shift())) {
        this.queued = [];
        return;
      }
    }
  }

  /** The CSS tone ("", "warn", "bad") of `value` on the threshold table row `name`. */
  tone(name, value) {
    return TONES[levelOf(this.thresholds[name], value)];
  }

  /** The node names the current view covers. */
  viewNodes() {
    if (this.view.includes(AGGREGATE)) return this.nodes.map((n) => n.name);
    return this.view.filter((v) => this.nodes.some((n) => n.name === v));
  }

  node(name) {
    return this.nodes.find((n) => n.name === name) || null;
  }

  /** Does any node of the view have a working node API? */
  viewHasApi() {
    return this.viewNodes().some((name) => this.node(name)?.has_api);
  }

  viewLabel() {
    return this.view.includes(AGGREGATE) ? "all nodes" : this.view.join(", ");
  }

  setNodes(nodes) {
    this.nodes = nodes;
    const saved = this.savedView();
    const valid = (saved || this.view).filter((v) => v === AGGREGATE || nodes.some((n) => n.name === v));
    this.view = valid.length ? valid : [AGGREGATE];
    for (const fn of this.nodesListeners) fn(nodes);
  }

  savedView() {
    try {
      const raw = localStorage.getItem(VIEW_KEY);
      const v = raw ? JSON.parse(raw) : null;
      return Array.isArray(v) && v.every((x) => typeof x === "string") && v.length ? v : null;
    } catch {
      return null;
    }
  }

  setView(view) {
    this.view = view.length ? view : [AGGREGATE];
    try {
      localStorage.setItem(VIEW_KEY, JSON.stringify(this.view));
    } catch {
      /* not persisted */
    }
    this.ws.send({ type: "set_view", view: this.view });
    for (const fn of this.viewListeners) fn(this.view);
  }

  onView(fn) {
    this.viewListeners.add(fn);
    return () => this.viewListeners.delete(fn);
  }

  onNodes(fn) {
    this.nodesListeners.add(fn);
    return () => this.nodesListeners.delete(fn);
  }

  /** Send a WebSocket request; the current `view` is added unless `withView` is false or the
   * request names its own view or node. Returns false when not connected. */
  request(type, params = {}, { withView = true } = {}) {
    if (!this.ready) return false;
    const msg = { type, ...params };
    if (withView && !("view" in msg) && !("node_name" in msg)) msg.view = this.view;
    msg.id = ++this.seq;
    this.pending.set(msg.id, type);
    if (this.pending.size > 200) this.pending.delete(this.pending.keys().next().value);
    if (this.inFlight.size >= MAX_IN_FLIGHT) {
      this.queued.push(msg);
      return true;
    }
    return this.sendNow(msg);
  }

  /** GET a REST endpoint (same origin, auth token carried) -> parsed JSON, or null. */
  async fetchJson(path, params = {}) {
    const url = withToken(path);
    for (const [k, v] of Object.entries(params)) {
      if (Array.isArray(v)) for (const item of v) url.searchParams.append(k, item);
      else url.searchParams.set(k, String(v));
    }
    try {
      const res = await fetch(url, { cache: "no-store" });
      if (!res.ok) return null;
      return await res.json();
    } catch {
      return null;
    }
  }
}

/** Does this response belong to the current view? (Responses may echo `view`.) */
export function sameView(app, msg) {
  const v = msg.view || (msg.data && msg.data.view);
  if (!Array.isArray(v)) return true;
  const a = [...v].sort().join("\u0000");
  const b = [...app.view].sort().join("\u0000");
  return a === b;
}

/** Call fn every `ms` while the page is visible and the socket is up. */
export function every(app, ms, fn) {
  return setInterval(() => {
    if (app.ready && document.visibilityState === "visible") fn();
  }, ms);
}
