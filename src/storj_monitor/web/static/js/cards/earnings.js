// Earnings card: this month's net and gross, held back, the month-end projection with its
// range beside the node's own estimate (and why they differ), a per-satellite table, the
// last 12 months of payouts and what is held back with the month half of it comes back.
// All money arrives in US dollars; every figure says where it came from.

import { h, replace } from "../dom.js";
import { Chart, line } from "../charts.js";
import { bytes, isNum, pct, satelliteName } from "../format.js";
import { empty, kpi, table, waiting } from "../ui.js";
import { every, sameView } from "../app.js";

const HISTORY_MONTHS = 12;
const SOURCES = {
  api: "from the node API",
  log: "estimated from the log (no API: egress only, storage from the disk)",
  history: "from the node's payout history",
};
/** Where a log estimate's prices came from (``prices_source``). */
const PRICES = {
  api: "the node's prices",
  stored: "the node's last known prices",
  defaults: "production prices (the node never answered)",
};

/** "$12.34"; under a dollar with cents; — for nothing. */
export function usd(v, digits = 2) {
  if (!isNum(v)) return "—";
  const sign = v < 0 ? "−" : "";
  return `${sign}$${Math.abs(v).toLocaleString(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits })}`;
}

function monthOf(date) {
  return `${date.getUTCFullYear()}-${String(date.getUTCMonth() + 1).padStart(2, "0")}`;
}

function monthsBack(n) {
  const out = [];
  const d = new Date();
  for (let i = 0; i < n; i++) {
    out.push(monthOf(new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - i, 1))));
  }
  return out;
}

function sum(list, key) {
  return list.reduce((acc, x) => (isNum(x?.[key]) ? acc + x[key] : acc), 0);
}

/** The view's node objects folded into one: money summed, satellites merged by id. */
export function combine(nodes) {
  const money = ["egress_usd", "repair_audit_usd", "storage_usd", "gross_usd", "held_usd", "held_returned_usd", "net_usd"];
  const sats = new Map();
  for (const n of nodes) {
    for (const s of n.satellites || []) {
      const row = sats.get(s.satellite_id) || { ...s, nodes: 0 };
      if (sats.has(s.satellite_id)) {
        for (const k of [...money, "egress_bytes", "repair_audit_bytes", "storage_tb_months"]) {
          if (isNum(s[k])) row[k] = (isNum(row[k]) ? row[k] : 0) + s[k];
        }
      }
      row.nodes += 1;
      sats.set(s.satellite_id, row);
    }
  }
  const total = Object.fromEntries(money.map((k) => [k, sum(nodes.map((n) => n.total || {}), k)]));
  const projections = nodes.map((n) => n.projection).filter(Boolean);
  const projection = projections.length ? {
    month_end_net_usd: sum(projections, "month_end_net_usd"),
    low_usd: sum(projections, "low_usd"),
    high_usd: sum(projections, "high_usd"),
    elapsed_hours: projections[0].elapsed_hours,
    hours_in_month: projections[0].hours_in_month,
  } : null;
  const estimates = nodes.map((n) => n.node_estimate).filter(Boolean);
  // The nodes' own estimates cover only the nodes with an API: say how many.
  const estimate = estimates.length ? {
    current_month_net_usd: sum(estimates, "current_month_net_usd"),
    month_end_expectation_usd: sum(estimates, "month_end_expectation_usd"),
    covers: estimates.length < nodes.length ? `${estimates.length} of ${nodes.length} nodes` : "",
  } : null;
  // Why ours and theirs differ only makes sense when both cover the same nodes.
  const comparisons = estimates.length === nodes.length
    ? nodes.map((n) => n.comparison).filter((c) => c && c.explanation) : [];
  const held = nodes.flatMap((n) => (n.held_back || []).map((x) => ({ ...x, node_name: n.node_name })));
  return {
    satellites: [...sats.values()], total, projection, node_estimate: estimate,
    sources: [...new Set(nodes.map((n) => n.source))], explanation: comparisons[0]?.explanation || null,
    prices: [...new Set(nodes.map((n) => n.prices_source).filter(Boolean))],
    held_back: held,
  };
}

export class EarningsCard {
  constructor(app, section) {
    this.app = app;
    this.section = section;
    this.body = section.querySelector("[data-body]");
    this.note = section.querySelector("#earnings-note");
    this.select = section.querySelector("#earnings-period");
    this.period = monthsBack(1)[0];
    this.data = null;
    this.history = null;
    this.daily = null;
    this.chart = null;
    this.dailyChart = null;
    this.select.replaceChildren(...monthsBack(HISTORY_MONTHS + 1).map((p, i) =>
      h("option", { value: p }, i === 0 ? `${p} (this month)` : p)));
    this.select.addEventListener("change", () => {
      this.period = this.select.value;
      this.data = null;
      this.daily = null;
      this.render();
      this.refresh();
    });
    app.ws.on("earnings_data", (m) => {
      if (!sameView(app, m) || (m.period && m.period !== this.period)) return;
      this.data = Array.isArray(m.data) ? m.data : [];
      this.render();
    });
    app.ws.on("traffic_daily", (m) => {
      if (!sameView(app, m) || !String(m.from || "").startsWith(this.period)) return;
      this.daily = Array.isArray(m.data) ? m.data : [];
      this.renderDaily();
    });
    app.ws.on("earnings_history", (m) => {
      if (!sameView(app, m)) return;
      this.history = Array.isArray(m.data) ? m.data : [];
      this.renderChart();
    });
    app.onView(() => { this.data = null; this.history = null; this.daily = null; this.render(); this.refresh(); });
    every(app, 300000, () => this.refresh());
    // This month's money and traffic move while the page is open (and fill in as a first
    // read of the log goes on): ask again every minute; closed months do not change.
    every(app, 60000, () => {
      if (this.period === monthsBack(1)[0]) {
        this.app.request("get_earnings_data", { period: this.period });
        this.requestDaily();
      }
    });
    this.render();
  }

  refresh() {
    if (!this.app.request("get_earnings_data", { period: this.period })) return;
    const months = monthsBack(HISTORY_MONTHS + 1);
    this.app.request("get_earnings_history", { from: months[months.length - 1], to: months[1] });
    this.requestDaily();
  }

  requestDaily() {
    const [y, m] = this.period.split("-").map(Number);
    const lastDay = new Date(Date.UTC(y, m, 0)).getUTCDate();
    this.app.request("get_traffic_daily", { from: `${this.period}-01`, to: `${this.period}-${String(lastDay).padStart(2, "0")}` });
  }

  render() {
    if (!this.data) {
      this.destroyChart();
      this.chartBox = null;
      this.dailyBox = null;
      replace(this.body, waiting("earnings"));
      return;
    }
    if (!this.data.length || this.data.every((n) => !(n.satellites || []).length)) {
      this.destroyChart();
      this.chartBox = null;
      this.dailyBox = null;
      replace(this.body, empty("No earnings data yet",
        "Needs the node API, or successful downloads in the log, for this month.", "waiting"));
      this.note.textContent = "";
      return;
    }
    const c = combine(this.data);
    this.note.textContent = [
      ...c.sources.map((s) => SOURCES[s] || s),
      ...c.prices.map((s) => PRICES[s] || s),
    ].join(" · ");
    const kept = c.total.gross_usd > 0 ? (c.total.net_usd / c.total.gross_usd) * 100 : null;
    const p = c.projection;
    const est = c.node_estimate;
    const kpis = h("div", { class: "kpis" },
      kpi("Net this month", usd(c.total.net_usd), isNum(kept) ? `${pct(kept, 0)} of gross kept` : "", "", "earn-net"),
      kpi("Gross", usd(c.total.gross_usd), "before held back", "", "earn-gross"),
      kpi("Held back", usd(c.total.held_usd), c.total.held_returned_usd > 0 ? `${usd(c.total.held_returned_usd)} returned` : "", "", "earn-held"),
      kpi("Month end (ours)", p ? usd(p.month_end_net_usd) : "—",
        p ? `range ${usd(p.low_usd)} – ${usd(p.high_usd)} · ${Math.round(p.elapsed_hours)} of ${p.hours_in_month} h` : "closed month", "", "earn-projection"),
      kpi("Node's estimate", est ? usd(est.month_end_expectation_usd) : "—",
        est ? [`so far ${usd(est.current_month_net_usd)}`, est.covers].filter(Boolean).join(" · ") : "needs the node API", "", "earn-node-estimate"));
    const why = c.explanation ? h("p", { class: "muted", dataset: { testid: "earn-explanation" } }, c.explanation) : null;
    const rows = c.satellites
      .sort((a, b) => (b.net_usd || 0) - (a.net_usd || 0))
      .map((s) => [
        { text: s.satellite_id ? satelliteName(s.satellite_id, s.satellite_name) : s.satellite_name },
        { text: isNum(s.egress_bytes) ? `${bytes(s.egress_bytes)} · ${usd(s.egress_usd)}` : usd(s.egress_usd), value: s.egress_usd },
        { text: usd(s.repair_audit_usd), value: s.repair_audit_usd },
        { text: isNum(s.storage_tb_months) ? `${s.storage_tb_months.toFixed(3)} TBm · ${usd(s.storage_usd)}` : usd(s.storage_usd), value: s.storage_usd },
        { text: usd(s.gross_usd), value: s.gross_usd },
        { text: s.disqualified ? "disqualified" : `${usd(s.held_usd)}${isNum(s.held_rate_percent) ? ` (${s.held_rate_percent} %)` : ""}`, value: s.held_usd },
        { text: usd(s.net_usd), value: s.net_usd },
      ]);
    const satTable = table([
      { label: "Satellite" }, { label: "Egress", class: "num" }, { label: "Repair+audit", class: "num" },
      { label: "Storage", class: "num" }, { label: "Gross", class: "num" }, { label: "Held", class: "num" },
      { label: "Net", class: "num" },
    ], rows, { testid: "earnings-satellites" });
    const held = c.held_back.filter((x) => x.total_held_usd > 0);
    const thisMonth = monthsBack(1)[0];
    const heldText = (x) => {
      const name = satelliteName(x.satellite_id, x.satellite_name);
      if (x.return_period && x.return_period < thisMonth) {
        return `${name}: ${usd(x.total_disposed_usd)} returned in ${x.return_period}`;
      }
      return `${name}: half (${usd(x.total_held_usd / 2)}) comes back in ${x.return_period || "month 16"}`;
    };
    const outstanding = held.reduce((acc, x) => acc + x.total_held_usd - (x.total_disposed_usd || 0), 0);
    const heldLine = held.length ? h("p", { class: "muted", dataset: { testid: "earn-held-back" } },
      `Held back now: ${usd(outstanding)} (of ${usd(sum(held, "total_held_usd"))} ever held). `,
      held.map(heldText).join(" · ")) : null;
    this.chartBox = h("div", { class: "chart", dataset: { testid: "earnings-chart" } });
    this.dailyBox = h("div", { class: "chart", dataset: { testid: "earnings-daily-chart" } });
    replace(this.body, kpis, why, h("div", { class: "table-wrap" }, satTable), heldLine,
      h("div", { class: "section-title" }, "Payouts, last 12 months"), this.chartBox,
      h("div", { class: "section-title" }, `Traffic per day, ${this.period}`), this.dailyBox);
    this.destroyChart();
    this.renderChart();
    this.renderDaily();
  }

  destroyChart() {
    this.chart?.destroy();
    this.chart = null;
    this.dailyChart?.destroy();
    this.dailyChart = null;
  }

  /** Egress and ingress bytes per UTC day of the month shown (from the log's rollups). */
  renderDaily() {
    if (!this.dailyBox || !this.daily) return;
    const days = this.daily;
    if (!days.some((d) => d.egress_usage_bytes || d.ingress_usage_bytes || d.egress_repair_bytes || d.ingress_repair_bytes)) {
      this.dailyChart?.destroy();
      this.dailyChart = null;
      replace(this.dailyBox, empty("No traffic in the log for this month", "", "waiting"));
      return;
    }
    if (this.dailyBox.querySelector(".empty")) this.dailyBox.replaceChildren();
    const xs = days.map((d) => Date.parse(`${d.date}T12:00:00Z`) / 1000);
    const egress = days.map((d) => d.egress_usage_bytes + d.egress_repair_bytes + d.egress_audit_bytes);
    const ingress = days.map((d) => d.ingress_usage_bytes + d.ingress_repair_bytes);
    if (!this.dailyChart) {
      this.dailyChart = new Chart(this.dailyBox, (p) => ({
        series: [{}, line("Egress", p.egress, (v) => bytes(v), { fill: `${p.egress}26`, points: { show: true } }),
          line("Ingress", p.ingress, (v) => bytes(v), { points: { show: true } })],
        axes: [{}, { size: 60, values: (u, vals) => vals.map((v) => bytes(v, 0)) }],
      }), { height: 160 });
    }
    this.dailyChart.setData([xs, egress, ingress]);
  }

  renderChart() {
    if (!this.chartBox || !this.history) return;
    const byMonth = new Map();
    for (const r of this.history) {
      const m = byMonth.get(r.period) || { paid: 0, held: 0 };
      m.paid += r.paid_usd || 0;
      m.held += r.held_usd || 0;
      byMonth.set(r.period, m);
    }
    const months = [...byMonth.keys()].sort();
    if (months.length < 2) {
      replace(this.chartBox, empty("No payout history yet", "Closed months appear once the node API reports them.", "waiting"));
      return;
    }
    if (this.chartBox.querySelector(".empty")) this.chartBox.replaceChildren();
    const xs = months.map((m) => Date.UTC(Number(m.slice(0, 4)), Number(m.slice(5)) - 1, 15) / 1000);
    const data = [xs, months.map((m) => byMonth.get(m).paid), months.map((m) => byMonth.get(m).held)];
    if (!this.chart) {
      this.chart = new Chart(this.chartBox, (p) => ({
        series: [{}, line("Paid", p.egress, (v) => usd(v), { fill: `${p.egress}26`, points: { show: true } }),
          line("Held back", p.forecast, (v) => usd(v), { points: { show: true } })],
        axes: [{}, { size: 60, values: (u, vals) => vals.map((v) => usd(v, 0)) }],
      }), { height: 160 });
    }
    this.chart.setData(data);
  }
}
