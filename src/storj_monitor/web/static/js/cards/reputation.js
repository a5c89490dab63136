// Reputation card: per node and satellite, the audit, suspension and online scores coloured
// against the thresholds, and how many failed audits the node survives before
// disqualification (audit score below 96 %).

import { h, replace } from "../dom.js";
import { ago, compact, isNum, satelliteName, toUnix } from "../format.js";
import { empty, noApi, table, waiting } from "../ui.js";
import { every, sameView } from "../app.js";

const TONE = { ok: "good", warning: "warn", critical: "bad", unknown: "unknown" };

function scoreCell(value, status) {
  const tone = TONE[status] || "unknown";
  const text = isNum(value) ? `${value.toFixed(value >= 99.995 ? 0 : 2)} %` : "—";
  return h("span", { class: ["score", tone], title: status || "", dataset: { value: isNum(value) ? String(value) : "" } }, text);
}

function auditsLeft(row) {
  const n = row.failed_audits_until_disqualification;
  if (row.disqualified) return h("span", { class: "pill bad" }, "disqualified");
  if (!isNum(n)) return h("span", { class: "muted" }, "—");
  const tone = n <= 5 ? "bad" : n <= 15 ? "warn" : "good";
  return h("span", { class: ["pill", tone], dataset: { testid: "audits-left", value: String(n) },
    title: `${n} failed audits left before disqualification` },
  `${n}`, h("span", { class: "hide-narrow" }, ` failed audit${n === 1 ? "" : "s"}`), " left");
}

export class ReputationCard {
  constructor(app, section) {
    this.app = app;
    this.section = section;
    this.body = section.querySelector("[data-body]");
    this.note = section.querySelector("#reputation-note");
    this.rows = null;
    app.ws.on("reputation_data", (m) => {
      if (!sameView(app, m)) return;
      this.rows = Array.isArray(m.data) ? m.data : [];
      this.render();
    });
    app.onView(() => {
      this.rows = null;
      this.render();
      this.refresh();
    });
    every(app, 60000, () => this.refresh());
    this.render();
  }

  refresh() {
    this.app.request("get_reputation_data");
  }

  render() {
    this.note.textContent = "";
    if (!this.rows) {
      replace(this.body, waiting("reputation scores"));
      return;
    }
    if (!this.rows.length) {
      replace(this.body, this.app.viewHasApi() ? waiting("reputation scores") : noApi());
      return;
    }
    // a view of several nodes names the node on every row, even when one node has scores
    const several = this.app.viewNodes().length > 1 || new Set(this.rows.map((r) => r.node_name)).size > 1;
    const worstLeft = Math.min(...this.rows.map((r) => r.failed_audits_until_disqualification).filter(isNum));
    const t = this.rows[0].thresholds || {};
    const summary = h("div", { class: "kpi-sub", style: { "margin-bottom": "6px" } },
      isNum(worstLeft)
        ? `Closest to disqualification: ${worstLeft} failed audits left. `
        : "",
      `Warning below: audit ${t.audit?.warning ?? "—"} %, suspension ${t.suspension?.warning ?? "—"} %, online ${t.online?.warning ?? "—"} %.`);
    const hasAudits = this.rows.some((r) => isNum(r.total_audits));
    const columns = [
      { label: "Satellite" },
      { label: "Audit" },
      { label: [h("span", { class: "hide-narrow" }, "Suspension"), h("span", { class: "show-narrow" }, "Susp.")] },
      { label: "Online" },
      { label: "Audits", class: hasAudits ? "hide-narrow" : "hidden" },
      { label: [h("span", { class: "hide-narrow" }, "Before DQ"), h("span", { class: "show-narrow" }, "Left")] },
    ];
    const rows = this.rows.map((r) => [
      h("span", { title: r.satellite_id || "" },
        several ? h("span", { class: "muted", dataset: { testid: "reputation-node" } }, `${r.node_name} · `) : null,
        satelliteName(r.satellite_id, r.satellite_name),
        r.suspended ? h("span", { class: "pill bad", style: { "margin-left": "6px" } }, "suspended") : null,
        r.vetted === false ? h("span", { class: "pill", style: { "margin-left": "6px" } }, "vetting") : null,
        r.stale ? h("span", { class: "pill warn", style: { "margin-left": "6px" } }, "stale") : null),
      scoreCell(r.audit_score, r.audit_status),
      scoreCell(r.suspension_score, r.suspension_status),
      scoreCell(r.online_score, r.online_status),
      { text: isNum(r.total_audits) ? compact(r.total_audits) : "—", title: isNum(r.successful_audits) ? `${r.successful_audits} successful of ${r.total_audits}` : "" },
      auditsLeft(r),
    ]);
    replace(this.body, summary, table(columns, rows, { testid: "reputation-table" }));
    const newest = this.rows.map((r) => toUnix(r.timestamp)).filter(isNum).sort().pop();
    if (newest) this.note.textContent = `updated ${ago(newest)}`;
  }
}


