// Shared helpers for the dashboard pages. Exchange-provided strings only ever reach the DOM
// through textContent or attribute setters, never through innerHTML.

/** Create an element with optional class and text (set as text, never parsed as HTML). */
export function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

/** Read a JSON data-* attribute, falling back when it is missing or malformed. */
export function dataJSON(node, name, fallback) {
  try {
    const raw = node && node.dataset[name];
    return raw ? JSON.parse(raw) : fallback;
  } catch (e) {
    return fallback;
  }
}

/** GET a JSON endpoint; null on any failure so pages degrade to "no data" instead of breaking. */
export async function getJSON(url) {
  try {
    const resp = await fetch(url, { headers: { Accept: "application/json" } });
    if (!resp.ok) return null;
    return await resp.json();
  } catch (e) {
    return null;
  }
}

/** Number of decimals in a price as the venue sent it (capped: float noise is not precision). */
export function decimalsOf(value) {
  if (typeof value !== "number" || !isFinite(value)) return 0;
  const text = String(value);
  if (text.includes("e")) return 8;
  const dot = text.indexOf(".");
  return dot < 0 ? 0 : Math.min(text.length - dot - 1, 8);
}

/** Tracks the precision of each market from the prices seen, so all its prices line up. */
export class Precision {
  constructor() { this.map = new Map(); }
  see(key, ...values) {
    let d = this.map.get(key) || 0;
    for (const v of values) d = Math.max(d, decimalsOf(v));
    this.map.set(key, d);
    return d;
  }
  format(key, value) {
    if (typeof value !== "number" || !isFinite(value)) return "–";
    const d = this.map.has(key) ? this.map.get(key) : decimalsOf(value);
    return value.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
  }
}

/** Seconds as a short age ("0.4 s", "12 s", "3 min", "2 h"). */
export function formatAge(seconds) {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) return "–";
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

/** A signed percentage with a fixed number of decimals. */
export function formatPct(value, digits = 3) {
  if (value === null || value === undefined || !isFinite(value)) return "–";
  return `${value >= 0 ? "+" : ""}${value.toFixed(digits)} %`;
}

/** The quote currency of a BASE-QUOTE symbol. */
export function quoteOf(symbol) {
  const i = String(symbol).lastIndexOf("-");
  return i < 0 ? "" : symbol.slice(i + 1);
}

/** The base asset of a BASE-QUOTE symbol. */
export function baseOf(symbol) {
  const i = String(symbol).lastIndexOf("-");
  return i < 0 ? String(symbol) : symbol.slice(0, i);
}

/** Link to a symbol's page; the name is URL-encoded and shown as text. */
export function symbolLink(symbol) {
  const a = el("a", null, symbol);
  a.href = `/symbol/${encodeURIComponent(symbol)}`;
  return a;
}

/** Max quote age before a quote is greyed out, from the page's data attribute. */
export function maxAge() {
  const v = parseFloat(document.body.dataset.maxAge);
  return isFinite(v) ? v : 5;
}

/** Briefly highlight a changed element (restarting the animation on quick repeats). */
export function flash(node, direction) {
  node.classList.remove("flash-up", "flash-down");
  void node.offsetWidth; // reflow, so re-adding the class restarts the animation
  node.classList.add(direction > 0 ? "flash-up" : "flash-down");
}

/**
 * Connect to /ws and call onEvent(type, data) for every event; reconnects with backoff.
 * `subscribe` narrows the feed to some symbols (empty = everything).
 */
export function connectLive(onEvent, subscribe = []) {
  const status = document.getElementById("live-status");
  let delay = 1000;
  // Closed with 1013 (the server is full: WS_MAX_CLIENTS or WS_MAX_PER_ADDRESS): the socket did
  // open, so `delay` was reset; this wait grows until an event arrives, with jitter so refused
  // pages do not all come back at once.
  let busyDelay = 5000;
  const setStatus = (text, cls) => {
    if (!status) return;
    status.textContent = text;
    status.className = `live-status ${cls}`;
  };
  const open = () => {
    let ws;
    try {
      const proto = location.protocol === "https:" ? "wss:" : "ws:";
      ws = new WebSocket(`${proto}//${location.host}/ws`);
    } catch (e) {
      setStatus("offline", "off");
      return;
    }
    ws.addEventListener("open", () => {
      delay = 1000;
      setStatus("live", "on");
      if (subscribe.length) ws.send(JSON.stringify({ subscribe }));
    });
    ws.addEventListener("message", (msg) => {
      busyDelay = 5000;
      let event;
      try { event = JSON.parse(msg.data); } catch (e) { return; }
      if (!event || typeof event.type !== "string") return;
      try { onEvent(event.type, event.data || {}); } catch (e) { console.error(e); }
    });
    ws.addEventListener("close", (closed) => {
      if (closed.code === 1013) {
        setStatus("server busy, retrying…", "off");
        setTimeout(open, busyDelay * (0.75 + Math.random() / 2));
        busyDelay = Math.min(busyDelay * 2, 60000);
        return;
      }
      setStatus("reconnecting…", "off");
      setTimeout(open, delay);
      delay = Math.min(delay * 2, 15000);
    });
  };
  setStatus("connecting…", "off");
  open();
}

function initTheme() {
  const button = document.getElementById("theme-toggle");
  if (!button) return;
  button.addEventListener("click", () => {
    const root = document.documentElement;
    const current = root.getAttribute("data-theme")
      || (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
    const next = current === "dark" ? "light" : "dark";
    root.setAttribute("data-theme", next);
    try { localStorage.setItem("ct-theme", next); } catch (e) { /* not persisted */ }
    document.dispatchEvent(new CustomEvent("themechange"));
  });
}

initTheme();
