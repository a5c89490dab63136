// The only way this page creates DOM. Data (node names, error texts, anything from a log or
// the node API) always becomes a text node or an attribute value, never markup: no script
// here parses HTML (tests/test_dashboard_assets.py checks), and event-handler attributes are refused.

const SVG_NS = "http://www.w3.org/2000/svg";

function applyProps(el, props) {
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.setAttribute("class", Array.isArray(value) ? value.filter(Boolean).join(" ") : value);
    else if (key === "text") el.textContent = String(value);
    else if (key === "style" && typeof value === "object") {
      for (const [prop, v] of Object.entries(value)) el.style.setProperty(prop, String(v));
    } else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "on") {
      for (const [event, handler] of Object.entries(value)) el.addEventListener(event, handler);
    } else if (/^on/i.test(key) || /html/i.test(key)) {
      throw new Error(`dom: refusing to set ${key}`);
    } else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** h("div", {class: "x"}, "text", otherNode, [more]) -> HTMLElement. Strings become text. */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  applyProps(el, props);
  append(el, children);
  return el;
}

/** The same for SVG elements. */
export function svg(tag, props = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  applyProps(el, props);
  append(el, children);
  return el;
}

/** Replace all children of el. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Set the text of an element (or of the element with this id). */
export function setText(target, value) {
  const el = typeof target === "string" ? document.getElementById(target) : target;
  if (el) el.textContent = value === undefined || value === null ? "" : String(value);
  return el;
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}
