// Maintenance card: per node, the last and the running run of every background job
// (used-space filewalker, garbage collection, trash cleanup, hashstore compaction) with its
// satellite, when it ran, how long it took, pieces/bytes, and a status pill; a running job
// says "running for 2 d 4 h" and turns red when it takes far longer than it usually does.

import { h, replace } from "../dom.js";
import { ago, bytes, compact, dateTime, isNum, satelliteName } from "../format.js";
import { empty, table, waiting } from "../ui.js";
import { every, sameView } from "../app.js";

/** Job names for phone width. */
const SHORT = { used_space: "filewalker", gc: "GC", trash: "trash", compaction: "compaction" };

/** Seconds -> "2 d 4 h", "3 h 12 min", "27 min", "45 s" (the two largest units). */
export function span(seconds) {
  if (!isNum(seconds)) return "—";
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  const hr = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) return `${d} d ${hr} h`;
  if (hr) return `${hr} h ${m} min`;
  if (m) return `${m} min`;
  return `${s} s`;
}

function statusPill(r) {
  if (r.status === "running") {
    const tone = r.overdue ? "bad" : "info";
    const usual = isNum(r.typical_duration_ms) ? ` (usually ${span(r.typical_duration_ms / 1000)})` : "";
    return h("span", { class: ["pill", tone], dataset: { testid: "maintenance-status", status: "running" },
      title: r.overdue ? `far longer than usual${usual}` : `started ${dateTime(r.started_at)}${usual}` },
    `running for ${span(r.running_for_s)}`);
  }
  const tone = { completed: "good", failed: "bad", interrupted: "warn" }[r.status] || "";
  // At phone width a completed run's pill carries its duration (the column is hidden).
  const short = r.status === "completed" && isNum(r.duration_ms) ? `✓ ${span(r.duration_ms / 1000)}` : r.status;
  return h("span", { class: ["pill", tone], dataset: { testid: "maintenance-status", status: r.status || "" },
    title: r.error || r.status || "" },
  h("span", { class: "hide-narrow" }, r.status || "—"), h("span", { class: "show-narrow" }, short || "—"));
}

function figures(r) {
  const parts = [];
  if (isNum(r.pieces)) parts.push(`${compact(r.pieces)} pieces`);
  if (isNum(r.bytes)) parts.push(bytes(r.bytes));
  return parts.length ? parts.join(" · ") : "—";
}

export class MaintenanceCard {
  constructor(app, section) {
    this.app = app;
    this.section = section;
    this.body = section.querySelector("[data-body]");
    this.note = section.querySelector("#maintenance-note");
    this.data = null;
    app.ws.on("maintenance_status", (m) => {
      if (!sameView(app, m)) return;
      this.data = Array.isArray(m.data) ? m.data : [];
      this.window = m.window_days;
      this.render();
    });
    app.onView(() => {
      this.data = null;
      this.render();
      this.refresh();
    });
    every(app, 60000, () => this.refresh());
    this.render();
  }

  refresh() {
    this.app.request("get_maintenance_status");
  }

  render() {
    this.note.textContent = "";
    if (!this.data) {
      replace(this.body, waiting("filewalker or compaction runs"));
      return;
    }
    const nodes = this.data.filter((n) => Array.isArray(n.runs) && n.runs.length);
    if (!nodes.length) {
      replace(this.body, empty(`No background jobs in the last ${this.window || 14} days`,
        "Filewalker, garbage-collection, trash and hashstore-compaction runs appear here once the node logs them (INFO level).",
        "none"));
      return;
    }
    const several = this.data.length > 1;
    const blocks = nodes.map((n) => {
      const columns = [
        { label: "Job" },
        { label: "Satellite" },
        { label: "Status" },
        { label: "Last run", class: "hide-narrow" },
        { label: "Duration", class: "hide-narrow" },
        { label: "Pieces / bytes", class: "hide-narrow" },
      ];
      const rows = n.runs.map((r) => [
        h("span", { title: r.task_label || r.task },
          h("span", { class: "hide-narrow" }, r.task_label || r.task),
          h("span", { class: "show-narrow" }, SHORT[r.task] || r.task),
          r.store ? h("span", { class: "muted" }, ` ${r.store}`) : null),
        h("span", { title: r.satellite_id || "" }, r.satellite_id ? satelliteName(r.satellite_id, r.satellite_name) : "—"),
        statusPill(r),
        { text: r.started_at ? ago(r.started_at) : r.finished_at ? ago(r.finished_at) : "—",
          title: `started ${dateTime(r.started_at)} · finished ${dateTime(r.finished_at)}` },
        r.status === "running" ? span(r.running_for_s) : isNum(r.duration_ms) ? span(r.duration_ms / 1000) : "—",
        figures(r),
      ]);
      return h("div", { class: "node-block", dataset: { node: n.node_name } },
        several ? h("div", { class: "node-name" }, n.node_name) : null,
        table(columns, rows, { testid: "maintenance-table" }));
    });
    replace(this.body, blocks);
    const running = nodes.reduce((k, n) => k + n.runs.filter((r) => r.status === "running").length, 0);
    this.note.textContent = running ? `${running} running` : "";
  }
}
