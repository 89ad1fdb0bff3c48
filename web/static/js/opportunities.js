// Opportunities: live table sorted by net %, filters, and a per-row profit calculator.
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

form.addEventListener("input", render);
form.addEventListener("submit", (e) => e.preventDefault());

async function start() {
  await Promise.all([loadFees(), load()]);
  connectLive((type, data) => {
    if (type !== "opportunity") return;
    upsert(data);
    schedule();
  });
  setInterval(load, 30000);
  setInterval(() => { if (built) render(); }, 1000);
}

start();
