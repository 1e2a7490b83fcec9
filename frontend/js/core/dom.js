// Small DOM helpers: build elements, replace children, render once per animation frame.

/** h("div.card#x", {title: "t", onclick: fn}, child, "text", [more]) -> element */
export function h(spec, attrs = {}, ...children) {
  const [tagAndClasses, id] = spec.split("#");
  const [tag, ...classes] = tagAndClasses.split(".");
  const el = document.createElement(tag || "div");
  if (classes.length) el.className = classes.join(" ");
  if (id) el.id = id;
  if (attrs && (typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = {};
  }
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (key === "style" && typeof value === "object") {
      Object.assign(el.style, value);
    } else if (key in el && typeof value !== "string") {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** Replace all children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/**
 * A function that runs `fn` at most once per animation frame, however often called, and
 * keeps `fn` to about `share` of the page's time: after a run that took d ms the next one
 * waits at least d * (1 / share - 1) ms. A cheap `fn` runs every frame; one whose cost grows
 * with the history (a chart of thousands of steps) runs less often, so the page keeps up
 * with a fast run's stream instead of falling behind it.
 */
export function perFrame(fn, { share = 1 / 3 } = {}) {
  let pending = false;
  let timer = 0;
  let notBefore = 0; // performance.now() of the earliest next run
  const run = () => {
    if (!pending) return;
    pending = false;
    clearTimeout(timer);
    const start = performance.now();
    try {
      fn();
    } finally {
      const end = performance.now();
      notBefore = end + (end - start) * (1 / share - 1);
    }
  };
  const frame = () => {
    requestAnimationFrame(run);
    // A hidden tab gets no animation frames; still render now and then.
    timer = setTimeout(run, 1000);
  };
  const schedule = () => {
    if (pending) return;
    pending = true;
    const wait = notBefore - performance.now();
    if (wait > 0) timer = setTimeout(frame, wait);
    else frame();
  };
  return schedule;
}
