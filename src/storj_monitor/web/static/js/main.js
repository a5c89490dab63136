// Entry point: theme, WebSocket, the view selector and the connection indicator; each card
// is its own module and subscribes to the messages it needs.

import { h, replace, setText } from "./dom.js";
import { initTheme } from "./theme.js";
import { WsClient } from "./ws.js";
import { AGGREGATE, App } from "./app.js";
import { TrafficCard } from "./cards/traffic.js";
import { LatencyCard } from "./cards/latency.js";
import { StorageCard } from "./cards/storage.js";
import { ReputationCard } from "./cards/reputation.js";
import { AlertsCard } from "./cards/alerts.js";
import { ErrorsCard } from "./cards/errors.js";
import { EarningsCard } from "./cards/earnings.js";
import { FleetCard } from "./cards/fleet.js";
import { identityParts, renderIdentityLine } from "./identity.js";
import { NodePicker } from "./picker.js";
import { MaintenanceCard } from "./cards/maintenance.js";

initTheme();

const ws = new WsClient("ws");
const app = new App(ws);
window.storjMonitor = app; // for the browser tests and the curious

// ---- connection indicator ---------------------------------------------------------------
const conn = document.getElementById("conn");
let countdown = null;
ws.onState((state, client) => {
  conn.dataset.state = state;
  clearInterval(countdown);
  if (state !== "connected") app.ready = false;
  if (state === "connecting") {
    replace(document.getElementById("conn-text"), client.attempts ? "Reconnecting…" : "Connecting…");
  } else if (state === "connected") {
    replace(document.getElementById("conn-text"), "Live");
  } else {
    const tick = () => {
      const s = Math.max(0, Math.ceil((client.retryAt - Date.now()) / 1000));
      replace(document.getElementById("conn-text"),
        `Disconnected · retry in ${s} s `,
        h("button", { type: "button", on: { click: () => client.retryNow() } }, "now"));
    };
    tick();
    countdown = setInterval(tick, 1000);
  }
});

// ---- view selector ----------------------------------------------------------------------
const viewsEl = document.getElementById("views");

function apiState(node) {
  if (node.api_live) return "node API answering";
  if (node.has_api) return "node API not answering now (showing stored data)";
  return "no node API";
}

// Log file state (services/node_watch.py): a marker on the chip, words in its title.
function logProblem(node) {
  const st = node.log_state;
  if (!st || st.state === "ok") return "";
  return st.state === "missing" ? `log file ${st.path} does not exist`
    : `log file ${st.path} cannot be read${st.error ? ` (${st.error})` : ""}`;
}

// Past this many nodes the chips collapse into a searchable picker (js/picker.js).
const MAX_CHIPS = 6;
const chipsBox = h("span", { class: "views-chips" });
const picker = new NodePicker(pickNode);
replace(viewsEl, chipsBox, picker.el);
const identityEl = document.getElementById("node-identity");

/** Show one node, or (additive: shift/ctrl/meta held) add it to / remove it from the view. */
function pickNode(name, additive) {
  const agg = app.view.includes(AGGREGATE);
  if (!additive) {
    app.setView([name]);
    return;
  }
  const selected = !agg && app.view.includes(name);
  const current = agg ? [] : app.view.filter((v) => v !== name);
  const next = selected ? current : [...current, name];
  app.setView(next.length ? next : [AGGREGATE]);
}

function chipTitle(node) {
  return [node.name, logProblem(node), apiState(node), ...identityParts(node)].filter(Boolean).join(" · ");
}

function renderViews() {
  const agg = app.view.includes(AGGREGATE);
  const collapsed = app.nodes.length > MAX_CHIPS;
  const chips = [];
  if (app.nodes.length > 1 || agg) {
    chips.push(h("button", {
      class: "chip", type: "button", "aria-pressed": String(agg), dataset: { view: AGGREGATE },
      title: "All nodes together",
      on: { click: () => app.setView([AGGREGATE]) },
    }, app.nodes.length > 1 ? `All nodes (${app.nodes.length})` : "All nodes"));
  }
  // collapsed: only the nodes of the view stay chips (click one to drop the others)
  for (const node of collapsed ? app.nodes.filter((n) => !agg && app.view.includes(n.name)) : app.nodes) {
    const selected = !agg && app.view.includes(node.name);
    chips.push(h("button", {
      class: "chip", type: "button", "aria-pressed": String(selected), dataset: { view: node.name },
      title: `${chipTitle(node)} (shift-click to add to the view)`,
      "data-log-state": node.log_state ? node.log_state.state : null,
      on: { click: (e) => pickNode(node.name, e.shiftKey || e.ctrlKey || e.metaKey) },
    }, h("span", { class: ["chip-dot", node.api_live ? "api" : node.has_api && "api-stale"], "aria-hidden": "true" }), node.name,
    logProblem(node) ? h("span", { class: "chip-warn", "aria-label": logProblem(node) }, `log ${node.log_state.state}`) : null));
  }
  replace(chipsBox, chips);
  picker.el.hidden = !collapsed;
  picker.update(app.nodes.map((n) => ({ ...n, title: chipTitle(n) })), agg ? [] : app.view);
  const single = agg ? (app.nodes.length === 1 ? app.nodes[0] : null) : app.view.length === 1 ? app.node(app.view[0]) : null;
  renderIdentityLine(identityEl, single);
}

app.onView(renderViews);
app.onNodes(renderViews);

// ---- cards ------------------------------------------------------------------------------
const cards = [
  new TrafficCard(app, document.getElementById("card-traffic")),
  new AlertsCard(app, document.getElementById("card-alerts")),
  new LatencyCard(app, document.getElementById("card-latency")),
  new StorageCard(app, document.getElementById("card-storage")),
  new ReputationCard(app, document.getElementById("card-reputation")),
  new ErrorsCard(app, document.getElementById("card-errors")),
  new EarningsCard(app, document.getElementById("card-earnings")),
  new FleetCard(app, document.getElementById("card-fleet")),
  new MaintenanceCard(app, document.getElementById("card-maintenance")),
];

// ---- protocol ---------------------------------------------------------------------------
function parseNodes(msg) {
  if (Array.isArray(msg.nodes)) {
    return msg.nodes
      .filter((n) => n && typeof n.name === "string")
      .map((n) => ({ name: n.name, has_api: Boolean(n.has_api), api_live: Boolean(n.api_live),
        log_state: n.log_state && typeof n.log_state === "object" ? n.log_state : null,
        identity: n.identity && typeof n.identity === "object" ? n.identity : null,
        started_at: typeof n.started_at === "string" ? n.started_at : null,
        uptime_seconds: typeof n.uptime_seconds === "number" ? n.uptime_seconds : null }));
  }
  return (msg.node_names || []).map((name) => ({ name, has_api: false }));
}

ws.on("init", (msg) => {
  if (msg.thresholds && typeof msg.thresholds === "object") app.thresholds = msg.thresholds;
  if (msg.severity_rank && typeof msg.severity_rank === "object") app.severityRank = msg.severity_rank;
  if (msg.settings && typeof msg.settings === "object") app.settings = msg.settings;
  app.setNodes(parseNodes(msg));
  app.ready = true;
  setText("footer-info", msg.version ? `v${msg.version}` : "");
  // Every (re)connect starts on Aggregate server-side: select our view again and refetch,
  // keeping what the cards show until the new data arrives.
  ws.send({ type: "set_view", view: app.view });
  for (const card of cards) card.refresh();
});

ws.on("nodes", (msg) => {
  if (Array.isArray(msg.data)) {
    app.setNodes(parseNodes({ nodes: msg.data }));
    renderViews();
  }
});

// A log file that goes missing or comes back changes the chips at once.
ws.on("alert", (msg) => {
  if (app.ready && msg.alert && msg.alert.kind === "log_missing") {
    app.request("get_nodes", {}, { withView: false });
  }
});

ws.on("error", (msg) => {
  console.warn(`storj_monitor: server said: ${msg.message}`);
});

// Node API availability can change while the page is open; ask now and then.
setInterval(() => {
  if (app.ready) app.request("get_nodes", {}, { withView: false });
}, 60000);

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && app.ready) {
    for (const card of cards) card.refresh();
  }
});

ws.connect();
