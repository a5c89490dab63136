// Alerts card: active alerts by severity (critical first) with an Acknowledge button, and the
// recent history. Live: every `alert` broadcast (new, updated, resolved) refreshes the list.

import { h, replace } from "../dom.js";
import { ago, dateTime } from "../format.js";
import { empty, sectionTitle, waiting } from "../ui.js";
import { every, sameView } from "../app.js";

const HISTORY_LIMIT = 15;

export class AlertsCard {
  constructor(app, section) {
    this.app = app;
    this.section = section;
    this.body = section.querySelector("[data-body]");
    this.badge = section.querySelector("#alerts-count");
    this.active = null;
    this.recent = [];
    this.pendingAck = new Set();
    app.ws.on("alerts", (m) => {
      if (!sameView(app, m)) return;
      const d = m.data || {};
      this.active = Array.isArray(d.active) ? d.active : [];
      this.recent = Array.isArray(d.recent) ? d.recent : [];
      this.render();
    });
    app.ws.on("active_alerts", (m) => {
      if (!sameView(app, m)) return;
      this.active = Array.isArray(m.data) ? m.data : [];
      this.render();
    });
    app.ws.on("alert", () => this.refresh());
    app.ws.on("storage_alerts", () => this.refresh());
    app.ws.on("error:acknowledge_alert", () => {
      this.pendingAck.clear();
      this.render();
    });
    app.ws.on("alert_acknowledge_result", (m) => {
      this.pendingAck.delete(m.alert_id);
      this.refresh();
    });
    app.onView(() => {
      this.active = null;
      this.render();
      this.refresh();
    });
    every(app, 30000, () => this.refresh());
    this.render();
  }

  refresh() {
    this.app.request("get_alerts", { limit: HISTORY_LIMIT + 20 });
  }

  acknowledge(alert, button) {
    button.disabled = true;
    button.textContent = "Acknowledging…";
    this.pendingAck.add(alert.id);
    if (!this.app.request("acknowledge_alert", { alert_id: alert.id }, { withView: false })) {
      this.pendingAck.delete(alert.id);
      button.disabled = false;
      button.textContent = "Acknowledge (not connected)";
    }
  }

  render() {
    if (!this.active) {
      this.badge.hidden = true;
      replace(this.body, waiting("alerts"));
      return;
    }
    const rank = (severity) => this.app.severityRank[severity] ?? -1; // init.severity_rank
    const active = [...this.active].sort(
      (a, b) => rank(b.severity) - rank(a.severity) || b.last_seen - a.last_seen);
    const open = active.filter((a) => !a.acknowledged_at).length;
    this.badge.hidden = active.length === 0;
    this.badge.textContent = String(active.length);
    this.badge.className = active.some((a) => a.severity === "critical") ? "badge" : "badge warning";
    this.badge.title = `${active.length} active, ${open} not acknowledged`;
    const several = this.app.viewNodes().length > 1;
    const list = active.length
      ? h("ul", { class: "alert-list", dataset: { testid: "active-alerts" } }, active.map((a) => this.item(a, several)))
      : empty("All clear", "No active alerts for this view.", "no-alerts");
    const history = this.recent.filter((a) => !a.active || a.resolved_at).slice(0, HISTORY_LIMIT);
    replace(this.body,
      list,
      sectionTitle("Recent history"),
      history.length
        ? h("ul", { class: "history", dataset: { testid: "alert-history" } }, history.map((a) =>
          h("li", {},
            h("span", { class: ["pill", a.severity] }, a.severity),
            h("span", { class: "h-title" }, a.title),
            h("span", { class: "muted", title: a.resolved_at_iso || "" },
              a.resolved_at ? `resolved ${ago(a.resolved_at)}` : dateTime(a.first_seen)))))
        : h("div", { class: "kpi-sub" }, "Nothing resolved recently."));
  }

  item(a, showNode) {
    const acked = Boolean(a.acknowledged_at);
    const button = h("button", { class: "btn", type: "button", dataset: { testid: "ack", alertId: String(a.id) } },
      this.pendingAck.has(a.id) ? "Acknowledging…" : "Acknowledge");
    button.disabled = this.pendingAck.has(a.id);
    button.addEventListener("click", () => this.acknowledge(a, button));
    return h("li", { class: ["alert", a.severity, acked && "acknowledged"], dataset: { alertId: String(a.id), testid: "alert" } },
      h("div", { class: "alert-head" },
        h("span", { class: ["pill", a.severity] }, a.severity),
        h("span", { class: "alert-title" }, a.title)),
      a.message ? h("div", { class: "alert-msg" }, a.message) : null,
      a.details && a.details.error
        ? h("div", { class: "alert-msg mono", dataset: { testid: "alert-error" } }, `Error: ${a.details.error}`)
        : null,
      h("div", { class: "alert-meta" },
        showNode ? h("span", {}, a.node_name) : null,
        h("span", { title: a.first_seen_iso || "" }, `since ${dateTime(a.first_seen)}`),
        h("span", {}, `seen ${ago(a.last_seen)}`),
        acked ? h("span", { dataset: { testid: "acked" } }, `acknowledged ${ago(a.acknowledged_at)}`) : button));
  }
}
