// DOM helpers. Every string goes in as text (textContent or a Text node), never as HTML:
// booking fields come from the public create endpoint and must never run as markup.

/**
 * Create an element. `props`: `class`, `text`, `dataset` (object), `on<event>` (listener),
 * anything else as an attribute (`true` for a boolean attribute, null/false to omit).
 */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") element.className = value;
    else if (key === "text") element.textContent = String(value);
    else if (key === "dataset") Object.assign(element.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      element.addEventListener(key.slice(2), value);
    } else element.setAttribute(key, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export const byId = (id) => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from the page`);
  return element;
};

/** Show `message` in an error paragraph, or hide it when `message` is empty. */
export function showError(element, message) {
  element.textContent = message || "";
  element.hidden = !message;
}

let toastTimer = 0;

/** A short message at the bottom of the screen (also read out by screen readers). */
export function toast(message, kind = "info") {
  const element = byId("toast");
  element.textContent = message;
  element.dataset.kind = kind;
  element.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    element.hidden = true;
  }, 4000);
}

/** Say something to screen-reader users without showing it. */
export function announce(message) {
  const element = byId("announcer");
  element.textContent = "";
  // A fresh text node after a tick makes screen readers announce repeats too.
  setTimeout(() => {
    element.textContent = message;
  }, 50);
}
