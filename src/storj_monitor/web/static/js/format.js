// Number, size, time and name formatting shared by the cards. Units in: bytes, ms, percent,
// ISO 8601 strings or unix seconds. Everything returns plain strings.

const SATELLITE_NAMES = {
  "121RTSDpyNZVcEU84Ticf2L1ntiuUimbWgfATz21tuvgk3vzoA6": "ap1",
  "12EayRS2V1kEsWESU9QMRseFhdxYxKicsiFmxrsLZHeLUtdps3S": "us1",
  "12L9ZFwhzVpuEKMUNUqkaTLGzwY9G24tbiigLiXpmZWKwmcNDDs": "eu1",
  "1wFTAgs9DP5RSnCqKV1eLf6N9wtk4EAtmN5DpSxcs8EjT69tGE": "saltlake",
};

export const DASH = "—";

/**
 * The level of `value` against one row of the server's threshold table (`init.thresholds`):
 * "critical" / "warning" past the limits (strictly, as the alert rules compare), "ok", or
 * "unknown". Mirrors thresholds.Threshold.level in Python.
 */
export function levelOf(threshold, value) {
  if (!threshold || !isNum(value)) return "unknown";
  if (threshold.direction === "below") {
    if (value < threshold.critical) return "critical";
    return value < threshold.warning ? "warning" : "ok";
  }
  if (value > threshold.critical) return "critical";
  return value > threshold.warning ? "warning" : "ok";
}

/** CSS tone of a level: "" (ok or unknown), "warn", "bad". */
export const TONES = { ok: "", unknown: "", warning: "warn", critical: "bad" };

export function isNum(v) {
  return typeof v === "number" && Number.isFinite(v);
}

/** Decimal units as the Storj dashboard uses them (1 TB = 10^12 B). */
export function bytes(n, digits = 1) {
  if (!isNum(n)) return DASH;
  const units = ["B", "KB", "MB", "GB", "TB", "PB"];
  let v = Math.abs(n);
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i += 1;
  }
  const sign = n < 0 ? "-" : "";
  return `${sign}${v.toFixed(i === 0 ? 0 : v < 10 ? Math.max(digits, 1) : digits)} ${units[i]}`;
}

/** Bytes per second as bits per second (how links are sold). */
export function bitrate(bytesPerSecond) {
  if (!isNum(bytesPerSecond)) return DASH;
  const units = ["bit/s", "kbit/s", "Mbit/s", "Gbit/s"];
  let v = bytesPerSecond * 8;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i += 1;
  }
  return `${v.toFixed(v < 10 && i > 0 ? 2 : 1)} ${units[i]}`;
}

/** Short bit rate for chart axes: "24M", "850k" (bit/s). */
export function bitrateShort(bytesPerSecond) {
  if (!isNum(bytesPerSecond)) return "";
  const v = bytesPerSecond * 8;
  if (v >= 1e9) return `${+(v / 1e9).toFixed(1)}G`;
  if (v >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (v >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  return `${Math.round(v)}`;
}

export function num(n, digits = 0) {
  if (!isNum(n)) return DASH;
  return n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Axis tick label: "500", "5k", "12.5k", "1.2M". */
export function tick(n) {
  if (!isNum(n)) return "";
  const a = Math.abs(n);
  if (a >= 1e6) return `${+(n / 1e6).toFixed(1)}M`;
  if (a >= 1e3) return `${+(n / 1e3).toFixed(1)}k`;
  return `${+n.toFixed(2)}`;
}

export function compact(n) {
  if (!isNum(n)) return DASH;
  if (Math.abs(n) >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (Math.abs(n) >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return num(n, Number.isInteger(n) ? 0 : 1);
}

export function pct(n, digits = 1) {
  if (!isNum(n)) return DASH;
  return `${n.toFixed(digits)} %`;
}

/** Milliseconds as "245 ms", "1.46 s", "1 m 37 s". */
export function ms(n) {
  if (!isNum(n)) return DASH;
  if (n < 1000) return `${Math.round(n)} ms`;
  if (n < 60000) return `${(n / 1000).toFixed(n < 10000 ? 2 : 1)} s`;
  const m = Math.floor(n / 60000);
  return `${m} m ${Math.round((n - m * 60000) / 1000)} s`;
}

export function days(n) {
  if (!isNum(n)) return DASH;
  if (n < 1) return `${Math.round(n * 24)} h`;
  return `${n < 10 ? n.toFixed(1) : Math.round(n)} days`;
}

/** ISO string or unix seconds -> unix seconds (number) or null. */
export function toUnix(t) {
  if (isNum(t)) return t;
  if (typeof t === "string") {
    const v = Date.parse(t);
    return Number.isNaN(v) ? null : v / 1000;
  }
  return null;
}

export function clock(t) {
  const u = toUnix(t);
  if (u === null) return DASH;
  return new Date(u * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function dateTime(t) {
  const u = toUnix(t);
  if (u === null) return DASH;
  return new Date(u * 1000).toLocaleString([], {
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });
}

/** "3 min ago" style, relative to nowSeconds (defaults to the browser clock). */
export function ago(t, nowSeconds = Date.now() / 1000) {
  const u = toUnix(t);
  if (u === null) return DASH;
  const s = Math.max(0, nowSeconds - u);
  if (s < 60) return `${Math.round(s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

export function satelliteName(id, name) {
  if (name) return name.replace(/:\d+$/, "").replace(/\.(storj|tardigrade)\.io$/, "");
  if (!id) return "unknown satellite";
  return SATELLITE_NAMES[id] || `${id.slice(0, 8)}…`;
}

export function shortId(id, n = 10) {
  if (!id) return DASH;
  return id.length > n ? `${id.slice(0, n)}…` : id;
}

/** A window length in hours as "24 h", "1.5 h", "17 min" (for "last …" labels). */
export function hoursLabel(hours) {
  if (!isNum(hours)) return DASH;
  if (hours >= 0.995) return `${+hours.toFixed(hours < 10 ? 1 : 0)} h`;
  const m = Math.round(hours * 60);
  return m >= 1 ? `${m} min` : "< 1 min";
}

/**
 * Why a details window (raw events: sizes, pieces, the map) is shorter than the window asked
 * for: raw rows are kept `detailHours` (init settings.events_detail_hours), or, on a busy node,
 * only the newest operations are read.
 */
export function detailsReason(windowHours, detailHours) {
  return isNum(detailHours) && Math.abs(windowHours - detailHours) < 0.02 * detailHours + 0.01
    ? `raw operations are kept for ${hoursLabel(detailHours)}`
    : "the newest operations only";
}
