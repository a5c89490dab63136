// Storage card, one block per node of the view: a used/trash/free gauge, growth per day, days
// until full with its range, and the history chart with the trend and the forecast line; then
// the disk seen three ways (node API, what the satellites pay for, the filesystem) with the
// gaps named, and the per-satellite storage table. A node known only from its log (no API, no
// configured allocation) shows its free space and its trend and says what is unknown.

import { h, replace } from "../dom.js";
import { Chart, line } from "../charts.js";
import { ago, bytes, dateTime, days, isNum, pct, satelliteName, toUnix } from "../format.js";
import { empty, kpi, noApi, table, waiting } from "../ui.js";
import { every, sameView } from "../app.js";

const DAY = 86400;
const HISTORY_DAYS = 7;
const MAX_FORECAST_DAYS = 30;
// A view of more nodes shows the fullest ones only (the fleet card lists every node).
const MAX_BLOCKS = 6;

export class StorageCard {
  constructor(app, section) {
    this.app = app;
    this.section = section;
    this.body = section.querySelector("[data-body]");
    this.note = section.querySelector("#storage-note");
    this.data = null; // storage_data list
    this.history = new Map(); // node -> storage_history data
    this.charts = new Map(); // node -> Chart
    this.blocks = new Map(); // node -> {root, top, chartBox, extra}
    this.sats = []; // satellite_storage rows of the view
    this.modes = new Map(); // node -> "free" | "used" (what its chart plots)
    app.ws.on("storage_data", (m) => {
      if (!sameView(app, m)) return;
      this.data = Array.isArray(m.data) ? m.data : [];
      this.render();
      // a large view: the fullest nodes are known now; fetch the charts they still miss
      const big = app.viewNodes().length > MAX_BLOCKS;
      for (const name of big ? this.shownNodes() : []) {
        if (!this.history.has(name)) this.app.request("get_storage_history", { node_name: name, days: HISTORY_DAYS });
      }
    });
    app.ws.on("storage_history", (m) => {
      const d = m.data || {};
      const name = m.node_name || d.node_name;
      if (!name || !app.viewNodes().includes(name)) return;
      this.history.set(name, d);
      this.renderChart(name);
    });
    app.ws.on("satellite_storage", (m) => {
      if (!sameView(app, m)) return;
      this.sats = Array.isArray(m.data) ? m.data : [];
      this.renderExtras(); // only the tables: the gauge and the KPIs stay as they are
    });
    app.ws.on("storage_alerts", () => this.refresh());
    app.onView(() => this.reset());
    app.onNodes(() => this.render());
    every(app, 30000, () => this.refresh());
    this.render();
  }

  reset() {
    this.data = null;
    this.sats = [];
    this.history.clear();
    this.clearBlocks();
    this.render();
    this.refresh();
  }

  /** The nodes that get a block: all of the view, or its MAX_BLOCKS fullest. */
  shownNodes() {
    const names = this.app.viewNodes();
    if (names.length <= MAX_BLOCKS) return names;
    const used = new Map((this.data || []).map((d) => [d.node_name, isNum(d.used_percent) ? d.used_percent : -1]));
    return [...names].sort((a, b) => (used.get(b) ?? -2) - (used.get(a) ?? -2)).slice(0, MAX_BLOCKS);
  }

  refresh() {
    if (!this.app.request("get_storage_data")) return;
    this.app.request("get_satellite_storage");
    for (const name of this.shownNodes()) {
      this.app.request("get_storage_history", { node_name: name, days: HISTORY_DAYS });
    }
  }

  clearBlocks() {
    for (const c of this.charts.values()) c.destroy();
    this.charts.clear();
    this.modes.clear();
    this.blocks.clear();
  }

  render() {
    const names = this.shownNodes();
    this.note.textContent = "";
    if (!this.data) {
      this.clearBlocks();
      replace(this.body, waiting("storage snapshots"));
      return;
    }
    const byNode = new Map(this.data.map((d) => [d.node_name, d]));
    if (!byNode.size) {
      this.clearBlocks();
      replace(this.body, this.app.viewHasApi() ? waiting("storage snapshots") : noApi());
      return;
    }
    // Rebuild the block list only when the set of nodes changes; otherwise update in place.
    const key = names.join("\u0000");
    if (this.blockKey !== key || this.blocks.size === 0) {
      this.clearBlocks();
      this.blockKey = key;
      const roots = names.map((name) => {
        const top = h("div");
        const chartBox = h("div", { class: "chart", dataset: { testid: "storage-chart" } });
        const extra = h("div");
        const root = h("div", { class: "node-block", dataset: { node: name } }, top, chartBox, extra);
        this.blocks.set(name, { root, top, chartBox, extra });
        return root;
      });
      replace(this.body, roots);
    }
    for (const name of names) {
      const b = this.blocks.get(name);
      const d = byNode.get(name);
      if (!d) {
        replace(b.top, h("div", { class: "node-name" }, name),
          this.app.node(name)?.has_api ? waiting("storage snapshots") : noApi());
        b.chartBox.hidden = true;
        replace(b.extra);
        continue;
      }
      b.chartBox.hidden = false;
      replace(b.top, ...(d.unknown ? this.freeOnly(name, d, names.length > 1) : this.summary(name, d, names.length > 1)));
      this.renderChart(name);
    }
    this.renderExtras();
    const newest = this.data.map((d) => toUnix(d.timestamp)).filter(isNum).sort().pop();
    if (newest) this.note.textContent = `updated ${ago(newest)}`;
    const all = this.app.viewNodes().length;
    if (all > names.length) this.note.textContent += ` · the ${names.length} fullest of ${all} nodes`;
  }

  summary(name, d, showName) {
    const total = d.total_bytes;
    const free = d.available_bytes;
    const trash = d.trash_bytes || 0;
    const used = isNum(total) && isNum(free) ? Math.max(total - free - trash, 0) : d.used_bytes;
    const share = (v) => (isNum(total) && total > 0 && isNum(v) ? (v / total) * 100 : 0);
    const usedPct = isNum(d.used_percent) ? d.used_percent : share(used);
    const tone = this.app.tone("disk_usage", usedPct);
    const status = d.forecast_status;
    let daysText = "—";
    let daysSub = "";
    let daysTone = "";
    if (status === "filling" && isNum(d.days_until_full)) {
      daysText = days(d.days_until_full);
      const lo = d.days_until_full_low;
      const hi = d.days_until_full_high;
      daysSub = isNum(lo) ? `range ${days(lo)} – ${isNum(hi) ? days(hi) : "never"}` : "";
      daysTone = this.app.tone("disk_forecast", d.days_until_full);
    } else if (status === "not filling") {
      daysText = "not filling";
      daysSub = "usage is flat or shrinking";
    } else {
      daysSub = "needs a few hours of snapshots";
    }
    const rate = d.growth_rate_bytes_per_day;
    return [
      showName || d.stale ? h("div", { class: "node-name" }, showName ? name : "",
        d.stale ? h("span", { class: "pill warn" }, `stale since ${dateTime(d.timestamp)}`) : null,
        d.source === "log" ? h("span", { class: "pill" }, "from log (no API)") : null) : null,
      h("div", {
        class: ["gauge", tone],
        role: "img",
        "aria-label": `used ${pct(share(used))}, trash ${pct(share(trash))}, free ${pct(share(free))}`,
        dataset: { testid: "storage-gauge" },
      },
      h("span", { class: "g-used", style: { width: `${share(used)}%` } }),
      h("span", { class: "g-trash", style: { width: `${share(trash)}%` } })),
      h("div", { class: "legend-row" },
        h("span", {}, h("span", { class: "sw used" }), `Used ${bytes(used)}`),
        h("span", {}, h("span", { class: "sw trash" }), `Trash ${bytes(trash)}`),
        h("span", {}, h("span", { class: "sw free" }), `Free ${bytes(free)}`),
        h("span", {}, `of ${bytes(total)}`)),
      h("div", { class: "kpis", style: { "margin-top": "10px" } },
        kpi("Used", pct(usedPct), bytes(d.used_bytes), tone, "storage-used"),
        kpi("Free", bytes(free), pct(d.available_percent ?? share(free)), "", "storage-free"),
        kpi("Growth / day", isNum(rate) ? bytes(rate) : "—", isNum(d.data_points) ? `${d.data_points} snapshots` : "", "", "storage-growth"),
        kpi("Full in", daysText, daysSub, daysTone, "storage-days")),
    ];
  }

  /** The disk comparison and per-satellite tables under each node's chart. */
  renderExtras() {
    if (!this.data) return;
    for (const d of this.data) {
      const b = this.blocks.get(d.node_name);
      if (b) replace(b.extra, this.comparison(d.disk_comparison), this.satellites(d.node_name));
    }
  }

  /** A node seen only through its log: free space, its trend, and what is unknown. */
  freeOnly(name, d, showName) {
    const status = d.forecast_status;
    const rate = d.growth_rate_bytes_per_day;
    const full = status === "filling" && isNum(d.days_until_full) ? days(d.days_until_full)
      : status === "not filling" ? "not filling" : "—";
    return [
      h("div", { class: "node-name" }, showName ? name : "",
        d.stale ? h("span", { class: "pill warn" }, `stale since ${dateTime(d.timestamp)}`) : null,
        h("span", { class: "pill" }, "from log (no API)")),
      h("div", { class: "kpi-sub", dataset: { testid: "storage-unknown" } }, d.unknown),
      h("div", { class: "kpis", style: { "margin-top": "10px" } },
        kpi("Free", bytes(d.available_bytes), "from the log's upload lines", "", "storage-free"),
        kpi("Free space trend", isNum(rate) ? `${rate > 0 ? "−" : "+"}${bytes(Math.abs(rate))}/day` : "—",
          isNum(d.data_points) ? `${d.data_points} samples` : "", "", "storage-growth"),
        kpi("Full in", full, "", status === "filling" ? this.app.tone("disk_forecast", d.days_until_full) : "", "storage-days")),
    ];
  }

  /** The three views of the disk side by side, and the gaps between them. */
  comparison(c) {
    // Nothing to compare for a log-only node without an allocation or a data_dir.
    if (!c || (!c.filesystem && !isNum(c.node?.total))) return null;
    const n = c.node || {};
    const f = c.filesystem || {};
    const cell = (v) => (isNum(v) ? bytes(v) : "—");
    const rows = [
      ["Used", cell(n.used), "", cell(f.used)],
      ["Trash", cell(n.trash), "", "—"],
      ["Free", cell(n.free), "", cell(f.free)],
      ["Total", cell(n.total), "", cell(f.total)],
      ["Paid for", "", cell(c.paid_bytes), ""],
    ];
    const columns = [
      { label: "" },
      { label: c.node_source === "log" ? "Node (log)" : "Node API" },
      { label: "Satellites" },
      { label: "Filesystem" },
    ];
    const g = c.gaps || {};
    const gaps = [];
    if (isNum(g.trash)) gaps.push(`trash ${bytes(g.trash)}`);
    if (isNum(g.uncollected_garbage)) gaps.push(`uncollected garbage ${bytes(g.uncollected_garbage)} (node − paid)`);
    if (isNum(g.hidden_by_allocation)) gaps.push(`${bytes(g.hidden_by_allocation)} free on the filesystem beyond the allocation`);
    return h("div", { dataset: { testid: "disk-comparison" }, style: { "margin-top": "10px" } },
      h("div", { class: "section-title" }, "Disk: node, satellites, filesystem"),
      table(columns, rows),
      h("div", { class: "kpi-sub" }, gaps.length ? `Gaps: ${gaps.join(" · ")}` : "",
        c.data_dir ? "" : " Set data_dir for the filesystem's view."));
  }

  /** Per-satellite storage of a node (the newest stored row of each satellite). */
  satellites(name) {
    const rows = this.sats.filter((r) => r.node_name === name);
    if (!rows.length) return null;
    const cell = (v) => (isNum(v) ? bytes(v) : "—");
    return h("div", { style: { "margin-top": "10px" } },
      h("div", { class: "section-title" }, "Per satellite"),
      table([
        { label: "Satellite" },
        { label: "Stored (month avg)" },
        { label: "Paid (last day)", class: "hide-narrow" },
        { label: "Egress", class: "hide-narrow" },
        { label: "Ingress", class: "hide-narrow" },
      ], rows.map((r) => [
        h("span", { title: r.satellite_id || "" }, satelliteName(r.satellite_id, r.satellite_name)),
        cell(r.average_usage_bytes), cell(r.paid_bytes), cell(r.egress_bytes), cell(r.ingress_bytes),
      ]), { testid: "satellite-storage" }));
  }

  renderChart(name) {
    const b = this.blocks.get(name);
    const hist = this.history.get(name);
    if (!b || !hist || b.chartBox.hidden) return;
    const snaps = (hist.snapshots || []).filter((s) => isNum(toUnix(s.timestamp)));
    if (snaps.length < 2) {
      if (!b.chartBox.querySelector(".empty")) {
        this.charts.get(name)?.destroy();
        this.charts.delete(name);
        replace(b.chartBox, empty("History is building up", "The chart appears after a few snapshots.", "waiting"));
      }
      return;
    }
    if (b.chartBox.querySelector(".empty")) b.chartBox.replaceChildren();
    const f = hist.forecast || {};
    const last = snaps[snaps.length - 1];
    const total = last.total_bytes;
    // Without a total (log only, no allocation) the chart plots free space and its trend.
    const freeMode = !isNum(total) && !isNum(last.used_bytes);
    const mode = freeMode ? "free" : "used";
    if (this.modes.get(name) !== mode) {
      this.charts.get(name)?.destroy();
      this.charts.delete(name);
      b.chartBox.replaceChildren();
      this.modes.set(name, mode);
    }
    const occupied = freeMode ? (s) => s.available_bytes ?? null
      : (s) => (isNum(s.total_bytes) && isNum(s.available_bytes) ? s.total_bytes - s.available_bytes : s.used_bytes);
    const sign = freeMode ? -1 : 1;
    const xs = snaps.map((s) => toUnix(s.timestamp));
    const occ = snaps.map(occupied);
    const trash = snaps.map((s) => s.trash_bytes ?? null);
    const cap = snaps.map((s) => s.total_bytes ?? null);
    const trend = snaps.map(() => null);
    // Trend and forecast: the fitted growth rate, anchored at the newest snapshot, drawn back
    // over the fitted window and forward until full (at most MAX_FORECAST_DAYS).
    const rate = f.growth_rate_bytes_per_day;
    const t0 = xs[xs.length - 1];
    const y0 = occ[occ.length - 1];
    if (isNum(rate) && isNum(y0)) {
      for (let i = 0; i < xs.length; i++) trend[i] = y0 + (sign * rate * (xs[i] - t0)) / DAY;
      const ahead = isNum(f.days_until_full) ? Math.min(f.days_until_full, MAX_FORECAST_DAYS) : Math.min(7, MAX_FORECAST_DAYS);
      const steps = 24;
      for (let k = 1; k <= steps; k++) {
        const t = t0 + (ahead * DAY * k) / steps;
        xs.push(t);
        occ.push(null);
        trash.push(null);
        cap.push(total ?? null);
        trend.push(y0 + (sign * rate * (t - t0)) / DAY);
      }
    }
    const data = [xs, occ, trash, cap, trend];
    let chart = this.charts.get(name);
    if (!chart) {
      chart = new Chart(b.chartBox, (p) => ({
        series: [
          {},
          line(freeMode ? "Free" : "Used + trash", p.used, (v) => bytes(v), { fill: `${p.used}26` }),
          line("Trash", p.trash, (v) => bytes(v)),
          line("Capacity", p.fg, (v) => bytes(v), { dash: [2, 4], width: 1 }),
          line("Trend / forecast", p.forecast, (v) => bytes(v), { dash: [6, 4], width: 1.8 }),
        ],
        axes: [{}, { size: 64, values: (u, vals) => vals.map((v) => bytes(v, 1)) }],
      }), { height: 170 });
      this.charts.set(name, chart);
    }
    chart.setData(data);
  }
}
