// Thin wrapper around uPlot (vendored, global `uPlot`): charts that follow the theme, fill the
// width of their container, and can be fed new data without being rebuilt.

import { cssVar, onThemeChange } from "./theme.js";

/** Series colours by role, read from CSS variables so both themes stay readable. */
export function palette() {
  return {
    fg: cssVar("--fg-muted"),
    grid: cssVar("--grid"),
    get: cssVar("--c-get"),
    put: cssVar("--c-put"),
    audit: cssVar("--c-audit"),
    repair: cssVar("--c-repair"),
    other: cssVar("--c-other"),
    failed: cssVar("--c-bad"),
    ingress: cssVar("--c-put"),
    egress: cssVar("--c-get"),
    used: cssVar("--c-used"),
    trash: cssVar("--c-trash"),
    forecast: cssVar("--c-warn"),
    accent: cssVar("--accent"),
  };
}

function axis(p, extra = {}) {
  return {
    stroke: p.fg,
    grid: { stroke: p.grid, width: 1 },
    ticks: { stroke: p.grid, width: 1 },
    font: "11px system-ui, sans-serif",
    ...extra,
  };
}

/**
 * A chart in `container`. `build(palette)` returns {series, axes?, scales?, ...uPlot opts}
 * (everything except width/height/data); it is called again on theme changes.
 */
export class Chart {
  constructor(container, build, { height = 180 } = {}) {
    this.container = container;
    this.build = build;
    this.height = height;
    this.data = null;
    this.plot = null;
    this.offTheme = onThemeChange(() => this.rebuild());
    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(container);
  }

  width() {
    return Math.max(this.container.clientWidth, 200);
  }

  rebuild() {
    if (this.plot) {
      this.plot.destroy();
      this.plot = null;
    }
    if (!this.data) return;
    const p = palette();
    const opts = this.build(p);
    opts.axes = (opts.axes || [{}, {}]).map((a) => axis(p, a));
    opts.legend = opts.legend || { show: true, live: false };
    opts.cursor = opts.cursor || { drag: { x: false, y: false } };
    this.plot = new window.uPlot({ width: this.width(), height: this.height, ...opts }, this.data, this.container);
  }

  setData(data) {
    const shapeChanged = !this.data || this.data.length !== data.length;
    this.data = data;
    if (!this.plot || shapeChanged) this.rebuild();
    else this.plot.setData(data);
  }

  resize() {
    if (this.plot && Math.abs(this.plot.width - this.width()) > 2) {
      this.plot.setSize({ width: this.width(), height: this.height });
    }
  }

  destroy() {
    this.offTheme();
    this.resizeObserver.disconnect();
    if (this.plot) this.plot.destroy();
    this.plot = null;
  }
}

/** uPlot series helper: a line of a colour with a label and a value formatter. */
export function line(label, stroke, fmt, extra = {}) {
  return { label, stroke, width: 1.6, value: (u, v) => (v === null || v === undefined ? "—" : fmt(v)), ...extra };
}

/** Bars path builder (uPlot.paths.bars) for histograms. */
export function bars() {
  return window.uPlot.paths.bars({ size: [0.9, 40], align: 1 });
}
