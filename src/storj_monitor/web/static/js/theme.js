// Dark and light themes. The first visit follows the system (prefers-color-scheme); the toggle
// stores an explicit choice in localStorage. Charts read their colours from CSS variables and
// re-render when the theme changes (onThemeChange).

const KEY = "storj_monitor.theme";
const listeners = new Set();
const media = window.matchMedia("(prefers-color-scheme: dark)");

function stored() {
  try {
    const v = localStorage.getItem(KEY);
    return v === "dark" || v === "light" ? v : null;
  } catch {
    return null;
  }
}

export function currentTheme() {
  return document.documentElement.dataset.theme || (media.matches ? "dark" : "light");
}

function apply(theme) {
  document.documentElement.dataset.theme = theme;
  const button = document.getElementById("theme-toggle");
  if (button) {
    const next = theme === "dark" ? "light" : "dark";
    button.setAttribute("aria-label", `Switch to ${next} theme`);
    button.title = `Switch to ${next} theme`;
    button.textContent = theme === "dark" ? "☀" : "☾";
  }
  for (const fn of listeners) fn(theme);
}

export function setTheme(theme, remember = true) {
  if (remember) {
    try {
      localStorage.setItem(KEY, theme);
    } catch {
      /* private mode: the choice lasts for this page only */
    }
  }
  apply(theme);
}

export function toggleTheme() {
  setTheme(currentTheme() === "dark" ? "light" : "dark");
}

export function onThemeChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** A CSS custom property of the current theme, e.g. cssVar("--fg"). */
export function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

export function initTheme() {
  apply(stored() || (media.matches ? "dark" : "light"));
  media.addEventListener("change", (e) => {
    if (!stored()) apply(e.matches ? "dark" : "light");
  });
  const button = document.getElementById("theme-toggle");
  if (button) button.addEventListener("click", toggleTheme);
}
