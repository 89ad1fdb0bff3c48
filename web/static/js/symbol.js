// Symbol page: bid/ask per venue over a chosen range (uPlot), best spread, live from /ws.
import { Precision, connectLive, dataJSON, el, formatAge, getJSON, maxAge } from "./common.js";

const section = document.getElementById("symbol-page");
const symbol = section.dataset.symbol;
const exchanges = dataJSON(section, "exchanges", []);
const chartBox = document.getElementById("chart");
const statusLabel = document.getElementById("chart-status");
const rangeSelect = document.getElementById("range");
const venuesBody = document.querySelector("#venues tbody");
const precision = new Precision();
const latest = new Map();  // exchange → {bid, ask, seenAt}
const MAX_POINTS = 20000;
const PALETTE = ["#2f7ed8", "#e4572e", "#17a589", "#f3a712", "#8e44ad", "#c0392b", "#16a085",
  "#7f8c8d", "#d35400", "#2c3e50"];

// Columnar store for uPlot: xs (unix seconds), then bid/ask arrays per exchange.
let xs = [];
let cols = new Map();  // exchange → {bid: [], ask: []}
let spread = [];       // best bid − best ask at each x (forward-filled per venue)
let priceChart = null;
let spreadChart = null;
let dirty = false;

function cssVar(name, fallback) {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

function resolutionFor(seconds) {
  if (seconds <= 3600) return "raw";
  if (seconds <= 7 * 86400 / 4) return "1m";
  return "1h";
}

function column(exchange) {
  if (!cols.has(exchange)) {
    cols.set(exchange, { bid: new Array(xs.length).fill(null), ask: new Array(xs.length).fill(null) });
    if (!exchanges.includes(exchange)) exchanges.push(exchange);
    return true;
  }
  return false;
}

/** Best bid minus best ask at every x, carrying each venue's last price forward. */
function computeSpread() {
  const last = new Map();
  spread = xs.map((_, i) => {
    for (const [ex, c] of cols) {
      if (c.bid[i] !== null) last.set(ex, [c.bid[i], c.ask[i]]);
    }
    let bestBid = -Infinity;
    let bestAsk = Infinity;
    for (const [bid, ask] of last.values()) {
      bestBid = Math.max(bestBid, bid);
      bestAsk = Math.min(bestAsk, ask);
    }
    return isFinite(bestBid) && isFinite(bestAsk) ? bestBid - bestAsk : null;
  });
}

function priceData() {
  const data = [xs];
  for (const c of cols.values()) data.push(c.bid, c.ask);
  return data;
}

function axis() {
  const stroke = cssVar("--fg-muted", "#888");
  const grid = cssVar("--grid", "rgba(128,128,128,0.2)");
  return { stroke, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
}

function makeCharts() {
  if (priceChart) priceChart.destroy();
  if (spreadChart) spreadChart.destroy();
  chartBox.replaceChildren();
  if (typeof window.uPlot !== "function") {
    statusLabel.textContent = "chart library failed to load";
    return;
  }
  const width = Math.max(chartBox.clientWidth, 280);
  const fmt = (u, v) => (v === null || v === undefined ? "–" : precision.format("chart", v));
  const series = [{}];
  let i = 0;
  for (const ex of cols.keys()) {
    const color = PALETTE[i++ % PALETTE.length];
    series.push({ label: `${ex} bid`, stroke: color, width: 1.5, spanGaps: true, value: fmt });
    series.push({ label: `${ex} ask`, stroke: color, width: 1, dash: [5, 4], spanGaps: true, value: fmt });
  }
  priceChart = new window.uPlot({
    width, height: Math.round(Math.min(420, Math.max(240, width * 0.45))),
    series, axes: [axis(), { ...axis(), size: 80, values: (u, vals) => vals.map((v) => precision.format("chart", v)) }],
    scales: { x: { time: true } }, legend: { live: true },
  }, priceData(), chartBox);
  const spreadBox = el("div", "spread-chart");
  chartBox.append(el("h2", null, "Spread between the best venues (best bid − best ask)"), spreadBox);
  spreadChart = new window.uPlot({
    width, height: 160,
    series: [{}, { label: "spread", stroke: cssVar("--accent", "#2f7ed8"), width: 1.5, spanGaps: true, value: fmt,
      fill: "rgba(47,126,216,0.12)" }],
    axes: [axis(), { ...axis(), size: 80 }], scales: { x: { time: true } },
  }, [xs, spread], spreadBox);
  chartBox.dataset.series = String(series.length - 1);
}

function redraw() {
  if (!dirty) return;
  dirty = false;
  computeSpread();
  if (!priceChart) { makeCharts(); return; }
  priceChart.setData(priceData());
  spreadChart.setData([xs, spread]);
}

async function loadHistory() {
  const seconds = parseInt(rangeSelect.value, 10) || 3600;
  const end = Date.now() / 1000;
  const resolution = resolutionFor(seconds);
  statusLabel.textContent = "loading…";
  const params = new URLSearchParams({ symbol, start: String(end - seconds), end: String(end), resolution });
  const data = await getJSON(`/api/history?${params}`);
  xs = [];
  cols = new Map();
  for (const ex of exchanges) column(ex);
  const series = data && Array.isArray(data.series) ? data.series : [];
  // Merge every venue's timestamps into one sorted x axis, nulls where a venue has no point.
  const byTime = new Map();
  for (const s of series) {
    if (typeof s.exchange !== "string" || !Array.isArray(s.points)) continue;
    column(s.exchange);
    for (const p of s.points) {
      if (!Array.isArray(p) || p.length < 3 || p[1] === null || p[2] === null) continue;
      const t = p[0] / 1e9;
      if (!byTime.has(t)) byTime.set(t, new Map());
      byTime.get(t).set(s.exchange, [p[1], p[2]]);
      precision.see("chart", p[1], p[2]);
    }
  }
  const times = [...byTime.keys()].sort((a, b) => a - b).slice(-MAX_POINTS);
  xs = times;
  for (const [ex, c] of cols) {
    c.bid = times.map((t) => { const v = byTime.get(t).get(ex); return v ? v[0] : null; });
    c.ask = times.map((t) => { const v = byTime.get(t).get(ex); return v ? v[1] : null; });
  }
  const points = times.length;
  statusLabel.textContent = data === null ? "no history data (history unavailable)"
    : points ? `${points} points · ${resolution}` : "no history data in this range";
  computeSpread();
  makeCharts();
}

function appendLive(q) {
  const grew = column(q.exchange);
  const t = (q.ts_exchange_ns || q.ts_received_ns || Date.now() * 1e6) / 1e9;
  // Out-of-order stamps would break uPlot's sorted x axis; clamp to the newest x.
  const x = xs.length && t < xs[xs.length - 1] ? xs[xs.length - 1] : t;
  xs.push(x);
  for (const [ex, c] of cols) {
    c.bid.push(ex === q.exchange ? q.bid : null);
    c.ask.push(ex === q.exchange ? q.ask : null);
  }
  if (xs.length > MAX_POINTS) {
    const drop = xs.length - MAX_POINTS;
    xs.splice(0, drop);
    for (const c of cols.values()) { c.bid.splice(0, drop); c.ask.splice(0, drop); }
  }
  if (grew) priceChart = null;  // a new venue needs new series: rebuild on the next redraw
  dirty = true;
}

function renderVenues() {
  const stale = maxAge();
  const rows = [...latest.entries()].sort((a, b) => b[1].bid - a[1].bid).map(([ex, q]) => {
    const age = (Date.now() - q.seenAt) / 1000;
    const tr = el("tr", age > stale ? "stale" : null);
    tr.dataset.ex = ex;
    tr.append(el("td", null, ex), el("td", "num bid", precision.format(`m:${ex}`, q.bid)),
      el("td", "num ask", precision.format(`m:${ex}`, q.ask)), el("td", "num age", formatAge(age)));
    return tr;
  });
  if (rows.length) venuesBody.replaceChildren(...rows);
  let best = null;
  let bestAsk = null;
  for (const [ex, q] of latest) {
    if ((Date.now() - q.seenAt) / 1000 > stale) continue;  // a stale venue is not tradable
    if (!best || q.bid > best[1]) best = [ex, q.bid];
    if (!bestAsk || q.ask < bestAsk[1]) bestAsk = [ex, q.ask];
  }
  const set = (id, text) => { document.getElementById(id).textContent = text; };
  if (best && bestAsk) {
    set("best-bid", precision.format(`m:${best[0]}`, best[1]));
    set("best-bid-ex", best[0]);
    set("best-ask", precision.format(`m:${bestAsk[0]}`, bestAsk[1]));
    set("best-ask-ex", bestAsk[0]);
    const diff = best[1] - bestAsk[1];
    const pct = (diff / bestAsk[1]) * 100;
    set("best-spread", `${precision.format("chart", diff)} (${pct >= 0 ? "+" : ""}${pct.toFixed(3)} %)`);
    document.getElementById("best-spread").className = diff > 0 ? "pos" : "neg";
  }
}

function onQuote(q, ageS) {
  if (q.symbol !== symbol || typeof q.exchange !== "string") return;
  precision.see(`m:${q.exchange}`, q.bid, q.ask);
  precision.see("chart", q.bid, q.ask);
  latest.set(q.exchange, { bid: q.bid, ask: q.ask, seenAt: Date.now() - (ageS || 0) * 1000 });
}

async function start() {
  const quotes = await getJSON(`/api/quotes?symbol=${encodeURIComponent(symbol)}`);
  if (quotes && Array.isArray(quotes.quotes)) {
    for (const q of quotes.quotes) onQuote(q, q.age_s);
    renderVenues();
  }
  await loadHistory();
  rangeSelect.addEventListener("change", loadHistory);
  connectLive((type, data) => {
    if (type !== "quote" || data.symbol !== symbol) return;
    onQuote(data, 0);
    appendLive(data);
  }, [symbol]);
  setInterval(() => { redraw(); renderVenues(); }, 1000);
  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(makeCharts, 200);
  });
  document.addEventListener("themechange", makeCharts);
}

start();
