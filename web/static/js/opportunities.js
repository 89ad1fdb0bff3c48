// Opportunities: live table sorted by net %, filters, and a per-row profit calculator; below it,
// triangular cycles within one venue (live) and the history of closed ones per venue pair.
import {
  Precision, baseOf, connectLive, dataJSON, el, formatAge, formatPct, getJSON, quoteOf,
  symbolLink,
} from "./common.js";

const form = document.getElementById("filters");
const table = document.getElementById("opps");
const body = table.tBodies[0];
const countLabel = document.getElementById("opp-count");
const template = document.getElementById("calc-template");
const fees = dataJSON(form, "fees", {});  // exchange → taker fee as a fraction
const withdrawals = {};                   // exchange → {asset: withdrawal fee in that asset}
const opps = new Map();                   // key → opportunity (+ firstSeen ms)
const views = new Map();                  // key → {tr, cells, calcTr, calc}
const precision = new Precision();
let built = false;

const keyOf = (o) => `${o.symbol}|${o.buy_exchange}|${o.sell_exchange}`;

function filters() {
  const min = parseFloat(form.elements.min.value);
  return {
    min: isFinite(min) ? min : -Infinity,
    exchange: form.elements.exchange.value,
    quote: form.elements.quote.value,
  };
}

function passes(o, f) {
  if (!(o.net_pct >= f.min)) return false;
  if (f.exchange && o.buy_exchange !== f.exchange && o.sell_exchange !== f.exchange) return false;
  if (f.quote && quoteOf(o.symbol) !== f.quote) return false;
  return true;
}

function makeView(key, o) {
  const tr = el("tr", "opp-row");
  tr.dataset.key = key;
  const names = ["symbol", "buy", "buy_price", "sell", "sell_price", "size", "gross", "net",
    "profit", "open"];
  const cells = {};
  for (const name of names) {
    const td = el("td", /price|size|gross|net|profit|open/.test(name) ? "num" : null);
    cells[name] = td;
    tr.append(td);
  }
  cells.symbol.append(symbolLink(o.symbol));
  cells.buy.textContent = o.buy_exchange;
  cells.sell.textContent = o.sell_exchange;
  const toggle = el("button", "calc-toggle", "Calculate");
  toggle.type = "button";
  const tdToggle = el("td");
  tdToggle.append(toggle);
  tr.append(tdToggle);

  const calcTr = el("tr", "calc-row");
  calcTr.hidden = true;
  const calcTd = el("td");
  calcTd.colSpan = 11;
  const calc = template.content.firstElementChild.cloneNode(true);
  calc.querySelector(".ccy-quote").textContent = quoteOf(o.symbol);
  calc.querySelector(".ccy-base").textContent = baseOf(o.symbol);
  calc.querySelector(".buy-ex").textContent = o.buy_exchange;
  calc.querySelector(".sell-ex").textContent = o.sell_exchange;
  calc.querySelector("[name=buy_fee]").value = feePct(o.buy_exchange);
  calc.querySelector("[name=sell_fee]").value = feePct(o.sell_exchange);
  const withdraw = calc.querySelector("[name=withdraw]");
  const known = withdrawalFee(o);
  if (known !== null) withdraw.value = known;
  // Once the user types a fee, later fee loads leave it alone.
  withdraw.addEventListener("input", () => { withdraw.dataset.edited = "1"; });
  calcTd.append(calc);
  calcTr.append(calcTd);
  toggle.addEventListener("click", () => {
    calcTr.hidden = !calcTr.hidden;
    toggle.textContent = calcTr.hidden ? "Calculate" : "Hide";
    if (!calcTr.hidden) compute(key);
  });
  calc.addEventListener("input", () => compute(key));
  const view = { tr, cells, calcTr, calc };
  views.set(key, view);
  return view;
}

function feePct(exchange) {
  const f = fees[exchange];
  return typeof f === "number" ? +(f * 100).toFixed(4) : "";
}

/** The fee to withdraw the bought coins from the buy venue: the engine's figure, else /api/fees. */
function withdrawalFee(o) {
  if (typeof o.withdrawal_fee === "number" && isFinite(o.withdrawal_fee)) return o.withdrawal_fee;
  const table = withdrawals[o.buy_exchange];
  const fee = table ? table[baseOf(o.symbol)] : undefined;
  return typeof fee === "number" && isFinite(fee) && fee >= 0 ? fee : null;
}

/** Refill untouched withdrawal inputs once fees are known. */
function prefillWithdrawals() {
  for (const [key, view] of views) {
    const o = opps.get(key);
    const input = view.calc.querySelector("[name=withdraw]");
    if (!o || input.dataset.edited) continue;
    const known = withdrawalFee(o);
    if (known !== null && String(known) !== input.value) {
      input.value = known;
      compute(key);
    }
  }
}

function num(input) {
  const v = parseFloat(input.value);
  return isFinite(v) && v >= 0 ? v : 0;
}

/** Profit step by step: buy here (taker fee), transfer (withdrawal fee), sell there (taker fee). */
function compute(key) {
  const o = opps.get(key);
  const view = views.get(key);
  if (!o || !view || view.calcTr.hidden) return;
  const c = view.calc;
  const amount = num(c.querySelector("[name=amount]"));
  const buyFee = num(c.querySelector("[name=buy_fee]")) / 100;
  const sellFee = num(c.querySelector("[name=sell_fee]")) / 100;
  const withdraw = num(c.querySelector("[name=withdraw]"));
  const base = baseOf(o.symbol);
  const quote = quoteOf(o.symbol);
  const market = key;
  const qty = amount / o.buy_price;
  const bought = qty * (1 - buyFee);
  const arrived = Math.max(bought - withdraw, 0);
  const gross = arrived * o.sell_price;
  const net = gross * (1 - sellFee);
  const profit = net - amount;
  const fmtBase = (v) => v.toLocaleString("en-US", { maximumFractionDigits: 8 });
  const fmtQuote = (v) => v.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const steps = [
    `Buy on ${o.buy_exchange}: ${fmtQuote(amount)} ${quote} at ${precision.format(market, o.buy_price)}`
      + ` = ${fmtBase(qty)} ${base}, minus ${(buyFee * 100).toFixed(3)} % taker fee`
      + ` → ${fmtBase(bought)} ${base}`,
    `Transfer to ${o.sell_exchange}: minus withdrawal fee ${fmtBase(withdraw)} ${base}`
      + ` → ${fmtBase(arrived)} ${base}`,
    `Sell on ${o.sell_exchange}: ${fmtBase(arrived)} ${base} at ${precision.format(market, o.sell_price)}`
      + ` = ${fmtQuote(gross)} ${quote}, minus ${(sellFee * 100).toFixed(3)} % taker fee`
      + ` → ${fmtQuote(net)} ${quote}`,
    `Profit: ${fmtQuote(profit)} ${quote} (${formatPct(amount > 0 ? profit / amount * 100 : 0)})`,
  ];
  if (qty > o.size) {
    steps.push(`Note: ${fmtBase(qty)} ${base} exceeds the ${fmtBase(o.size)} ${base}`
      + " available at these prices; a larger order fills at worse prices.");
  }
  const ol = c.querySelector(".calc-steps");
  ol.replaceChildren(...steps.map((text, i) => el("li", i === 3 ? (profit >= 0 ? "pos" : "neg") : null, text)));
}

function fill(key) {
  const o = opps.get(key);
  const view = views.get(key) || makeView(key, o);
  const c = view.cells;
  precision.see(key, o.buy_price, o.sell_price);
  c.buy_price.textContent = precision.format(key, o.buy_price);
  c.sell_price.textContent = precision.format(key, o.sell_price);
  c.size.textContent = typeof o.size === "number" ? o.size.toLocaleString("en-US", { maximumFractionDigits: 6 }) : "–";
  c.gross.textContent = formatPct(o.gross_pct);
  c.net.textContent = formatPct(o.net_pct);
  c.net.className = `num ${o.net_pct >= 0 ? "pos" : "neg"}`;
  c.profit.textContent = typeof o.net_profit === "number" ? o.net_profit.toFixed(2) : "–";
  c.open.textContent = formatAge((Date.now() - o.firstSeen) / 1000);
  compute(key);
  return view;
}

function render() {
  built = true;
  const f = filters();
  const shown = [...opps.entries()].filter(([, o]) => passes(o, f))
    .sort((a, b) => b[1].net_pct - a[1].net_pct);
  for (const key of [...views.keys()]) {
    if (!opps.has(key)) views.delete(key);
  }
  const nodes = [];
  for (const [key] of shown) {
    const view = fill(key);
    nodes.push(view.tr, view.calcTr);
  }
  if (!nodes.length) {
    const tr = el("tr", "no-data");
    const td = el("td", null, opps.size ? "No opportunity matches the filters." : "No open opportunities.");
    td.colSpan = 11;
    tr.append(td);
    nodes.push(tr);
  }
  // Only touch the DOM order when it changed: re-inserting rows would steal the focus from
  // a calculator input the user is typing in.
  const current = [...body.children];
  if (current.length !== nodes.length || current.some((n, i) => n !== nodes[i])) {
    body.replaceChildren(...nodes);
  }
  countLabel.textContent = `${shown.length} of ${opps.size} shown`;
}

let pending = false;
/** Render at most once per animation frame however many events arrive. */
function schedule() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => { pending = false; render(); });
}

function upsert(o) {
  if (typeof o.symbol !== "string" || typeof o.buy_exchange !== "string"
      || typeof o.sell_exchange !== "string") return;
  const key = keyOf(o);
  if (o.action === "close") {
    opps.delete(key);
  } else {
    const old = opps.get(key);
    const firstSeen = old ? old.firstSeen : (o.opened_ns ? Math.min(o.opened_ns / 1e6, Date.now()) : Date.now());
    opps.set(key, { ...old, ...o, firstSeen });
  }
}

async function load() {
  const data = await getJSON("/api/opportunities?limit=1000");
  if (!data || !Array.isArray(data.opportunities)) {
    if (!built) countLabel.textContent = "no data from the API";
    return;
  }
  const fresh = new Set(data.opportunities.map(keyOf));
  for (const key of [...opps.keys()]) if (!fresh.has(key)) opps.delete(key);
  for (const o of data.opportunities) upsert(o);
  render();
}

async function loadFees() {
  const data = await getJSON("/api/exchanges");
  if (!data || !Array.isArray(data.exchanges)) return;
  for (const ex of data.exchanges) {
    if (typeof ex.name === "string" && typeof ex.taker_fee === "number") fees[ex.name] = ex.taker_fee;
  }
}

/** Withdrawal fees per venue and asset; a server without /api/fees (404) just leaves them unset. */
async function loadWithdrawals() {
  const data = await getJSON("/api/fees");
  if (!data || typeof data.venues !== "object" || data.venues === null) return;
  for (const [venue, info] of Object.entries(data.venues)) {
    if (info && typeof info.withdrawal === "object" && info.withdrawal !== null) {
      withdrawals[venue] = info.withdrawal;
    }
  }
  prefillWithdrawals();
}

// ---- Triangular arbitrage within one venue -------------------------------------------------

const triBody = document.getElementById("triangles").tBodies[0];
const triCount = document.getElementById("tri-count");
const triSeen = new Map();  // key → first time this page saw the cycle (ms)
const triAges = new Map();  // key → its "open for" cell, refreshed every second
let triangles = [];
let trianglesLoaded = false;

const fmtAmount = (v) => (typeof v === "number" && isFinite(v)
  ? v.toLocaleString("en-US", { maximumFractionDigits: Math.abs(v) >= 1 ? 2 : 8 }) : "–");

function legText(leg) {
  if (!leg || typeof leg.symbol !== "string") return "";
  const price = typeof leg.price === "number" ? leg.price.toLocaleString("en-US", { maximumFractionDigits: 10 }) : "–";
  return `${leg.side === "buy" ? "buy" : "sell"} ${leg.symbol} @ ${price}`;
}

function setTriangles(data) {
  if (!data || !Array.isArray(data.triangles)) return;
  triangles = data.triangles.filter((t) => t && typeof t.exchange === "string"
    && Array.isArray(t.path) && Array.isArray(t.legs) && typeof t.net_pct === "number");
  trianglesLoaded = true;
  const now = Date.now();
  const keys = new Set();
  for (const t of triangles) {
    const key = `${t.exchange}|${t.path.join(">")}`;
    t._key = key;
    keys.add(key);
    if (!triSeen.has(key)) triSeen.set(key, now);
  }
  for (const key of [...triSeen.keys()]) if (!keys.has(key)) triSeen.delete(key);
  renderTriangles();
}

function renderTriangles() {
  if (!trianglesLoaded) return;
  triAges.clear();
  const rows = [...triangles].sort((a, b) => b.net_pct - a.net_pct).map((t) => {
    const tr = el("tr", "tri-row");
    tr.dataset.key = t._key;
    const start = String(t.path[0] ?? "");
    const cells = [
      el("td", null, t.exchange),
      el("td", "cycle", t.path.map(String).join(" → ")),
      el("td", "legs", t.legs.map(legText).join(" · ")),
      el("td", "num", formatPct(t.gross_pct)),
      el("td", `num ${t.net_pct >= 0 ? "pos" : "neg"}`, formatPct(t.net_pct)),
      el("td", "num", `${fmtAmount(t.max_start)} ${start}`),
      el("td", "num", `${fmtAmount(t.max_profit)} ${start}`),
      el("td", "num", formatAge((Date.now() - triSeen.get(t._key)) / 1000)),
    ];
    triAges.set(t._key, cells[7]);
    tr.append(...cells);
    return tr;
  });
  if (!rows.length) {
    const tr = el("tr", "no-data");
    const td = el("td", null, "No profitable cycle within a venue right now.");
    td.colSpan = 8;
    tr.append(td);
    rows.push(tr);
  }
  triBody.replaceChildren(...rows);
  triCount.textContent = `${triangles.length} found`;
}

/** Only the ages move between updates: rebuilding rows every second would lose a selection. */
function tickTriangles() {
  const now = Date.now();
  for (const [key, td] of triAges) {
    if (triSeen.has(key)) td.textContent = formatAge((now - triSeen.get(key)) / 1000);
  }
}

async function loadTriangles() {
  const data = await getJSON("/api/triangles?limit=200");
  if (data) setTriangles(data);
  else if (!trianglesLoaded) {
    const tr = el("tr", "no-data");
    const td = el("td", null, "No data from the API.");
    td.colSpan = 8;
    tr.append(td);
    triBody.replaceChildren(tr);
  }
}

// ---- History by venue pair -----------------------------------------------------------------

const statsForm = document.getElementById("stats-range");
const statsBody = document.getElementById("pair-stats").tBodies[0];
const statsCount = document.getElementById("stats-count");

function fmtDuration(s) {
  if (typeof s !== "number" || !isFinite(s)) return "–";
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 10) return `${s.toFixed(2)} s`;
  return formatAge(s);
}

function fmtProfit(total) {
  if (!total || typeof total !== "object") return "–";
  const parts = Object.entries(total).filter(([, v]) => typeof v === "number" && isFinite(v))
    .map(([ccy, v]) => `${fmtAmount(v)} ${ccy}`);
  return parts.length ? parts.join(" · ") : "–";
}

/** A tiny bar per duration bucket; heights through CSSOM (allowed by the page's CSP). */
function histogram(buckets) {
  const box = el("span", "histo");
  if (!Array.isArray(buckets)) return box;
  const max = Math.max(1, ...buckets.map((b) => (typeof b.count === "number" ? b.count : 0)));
  let lower = 0;
  const labels = [];
  for (const b of buckets) {
    const n = typeof b.count === "number" ? b.count : 0;
    const bar = el("span");
    bar.style.height = `${Math.max(4, (n / max) * 100)}%`;
    if (!n) bar.style.opacity = "0.25";
    const range = typeof b.lt_s === "number" ? `${lower}–${b.lt_s} s` : `≥ ${lower} s`;
    bar.title = `${range}: ${n}`;
    labels.push(`${range}: ${n}`);
    if (typeof b.lt_s === "number") lower = b.lt_s;
    box.append(bar);
  }
  box.title = labels.join("\n");
  box.setAttribute("aria-label", labels.join(", "));
  return box;
}

async function loadStats() {
  const span = parseFloat(statsForm.elements.range.value) || 86400;
  const start = (Date.now() / 1000 - span).toFixed(3);
  const data = await getJSON(`/api/opportunities/stats?start=${encodeURIComponent(start)}`);
  if (!data || !Array.isArray(data.pairs)) {
    statsCount.textContent = "no data from the API";
    return;
  }
  const rows = data.pairs.filter((p) => p && typeof p.buy_exchange === "string"
    && typeof p.sell_exchange === "string").map((p) => {
    const tr = el("tr", "stats-row");
    tr.dataset.pair = `${p.buy_exchange}|${p.sell_exchange}`;
    const hist = el("td");
    hist.append(histogram(p.duration_histogram));
    tr.append(
      el("td", null, p.buy_exchange), el("td", null, p.sell_exchange),
      el("td", "num", typeof p.count === "number" ? p.count.toLocaleString("en-US") : "–"),
      el("td", "num", fmtDuration(p.duration_p50_s)), el("td", "num", fmtDuration(p.duration_p90_s)),
      el("td", "num", fmtDuration(p.duration_max_s)), hist,
      el("td", "num", formatPct(p.mean_peak_net_pct)),
      el("td", "num", fmtProfit(p.total_profit)),
    );
    return tr;
  });
  if (!rows.length) {
    const tr = el("tr", "no-data");
    const td = el("td", null, "No closed opportunity in this range.");
    td.colSpan = 9;
    tr.append(td);
    rows.push(tr);
  }
  statsBody.replaceChildren(...rows);
  const total = data.pairs.reduce((n, p) => n + (typeof p.count === "number" ? p.count : 0), 0);
  statsCount.textContent = `${total.toLocaleString("en-US")} closed over ${data.pairs.length} venue pairs`;
}

statsForm.addEventListener("input", loadStats);
statsForm.addEventListener("submit", (e) => e.preventDefault());

form.addEventListener("input", render);
form.addEventListener("submit", (e) => e.preventDefault());

async function start() {
  await Promise.all([loadFees(), load()]);
  loadWithdrawals();
  loadTriangles();
  loadStats();
  connectLive((type, data) => {
    if (type === "triangle") {
      setTriangles(data);
      return;
    }
    if (type !== "opportunity") return;
    upsert(data);
    schedule();
  });
  setInterval(load, 30000);
  setInterval(loadTriangles, 30000);
  setInterval(loadStats, 60000);
  setInterval(() => { if (built) render(); tickTriangles(); }, 1000);
}

start();
