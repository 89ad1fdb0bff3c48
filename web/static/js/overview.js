// Overview: symbols × exchanges matrix of bid/ask, kept live from /ws.
import {
  Precision, connectLive, dataJSON, el, flash, formatAge, formatPct, getJSON, maxAge, symbolLink,
} from "./common.js";

const table = document.getElementById("matrix");
const exchanges = dataJSON(table, "exchanges", []);
const symbols = new Set(dataJSON(table, "symbols", []));
const quotes = new Map();   // "symbol\0exchange" → {bid, ask, seenAt}
const opps = new Map();     // "symbol|buy|sell" → opportunity
const changes = new Map();  // symbol → {h1, h24}
const precision = new Precision();
const rows = new Map();     // symbol → {tr, cells: Map(exchange → td), best, h1, h24}
let built = false;         // until then the server-rendered table stays as it is

const qkey = (symbol, exchange) => `${symbol}\u0000${exchange}`;

function buildHead() {
  const tr = el("tr");
  tr.append(el("th", "sym", "Symbol"), el("th", "num", "1 h"), el("th", "num", "24 h"));
  for (const ex of exchanges) {
    const th = el("th", "venue", ex);
    th.dataset.ex = ex;
    tr.append(th);
  }
  tr.append(el("th", "best", "Best opportunity"));
  table.tHead.replaceChildren(tr);
}

function rebuild() {
  built = true;
  buildHead();
  rows.clear();
  const body = table.tBodies[0];
  const sorted = [...symbols].sort();
  if (!sorted.length) {
    const tr = el("tr", "no-data");
    const td = el("td", null, "No data yet.");
    td.colSpan = exchanges.length + 4;
    tr.append(td);
    body.replaceChildren(tr);
    return;
  }
  const trs = sorted.map((symbol) => {
    const tr = el("tr");
    tr.dataset.symbol = symbol;
    const th = el("th", "sym");
    th.scope = "row";
    th.append(symbolLink(symbol));
    const h1 = el("td", "num chg chg-1h", "–");
    const h24 = el("td", "num chg chg-24h", "–");
    tr.append(th, h1, h24);
    const cells = new Map();
    for (const ex of exchanges) {
      const td = el("td", "quote empty");
      td.dataset.ex = ex;
      td.append(el("span", "bid"), el("span", "ask"), el("span", "age"));
      cells.set(ex, td);
      tr.append(td);
    }
    const best = el("td", "best opp-cell");
    tr.append(best);
    rows.set(symbol, { tr, cells, best, h1, h24 });
    return tr;
  });
  body.replaceChildren(...trs);
  for (const symbol of sorted) {
    for (const ex of exchanges) renderQuote(symbol, ex, 0);
    renderChanges(symbol);
    renderBest(symbol);
  }
}

/** Make sure a row and a column exist for this quote; rebuild when the matrix grows. */
function ensure(symbol, exchange) {
  let grew = false;
  if (!symbols.has(symbol)) { symbols.add(symbol); grew = true; }
  if (exchange !== undefined && !exchanges.includes(exchange)) { exchanges.push(exchange); grew = true; }
  if (grew || !built) rebuild();
}

function renderQuote(symbol, exchange, direction) {
  const row = rows.get(symbol);
  const td = row && row.cells.get(exchange);
  if (!td) return;
  const q = quotes.get(qkey(symbol, exchange));
  const [bid, ask, age] = td.children;
  if (!q) {
    td.className = "quote empty";
    bid.textContent = "–";
    ask.textContent = "";
    age.textContent = "";
    return;
  }
  const market = qkey(symbol, exchange);
  bid.textContent = precision.format(market, q.bid);
  ask.textContent = precision.format(market, q.ask);
  td.classList.remove("empty");
  renderAge(td, q);
  if (direction) flash(td, direction);
}

function renderAge(td, q) {
  const age = (Date.now() - q.seenAt) / 1000;
  const stale = age > maxAge();
  td.classList.toggle("stale", stale);
  td.children[2].textContent = formatAge(Math.max(age, 0));
  td.title = stale ? `stale: last update ${formatAge(age)} ago` : "";
}

function renderChanges(symbol) {
  const row = rows.get(symbol);
  const c = changes.get(symbol);
  if (!row) return;
  for (const [cell, value] of [[row.h1, c && c.h1], [row.h24, c && c.h24]]) {
    cell.textContent = value === null || value === undefined ? "–" : formatPct(value, 2);
    cell.classList.toggle("pos", value > 0);
    cell.classList.toggle("neg", value < 0);
  }
}

function renderBest(symbol) {
  const row = rows.get(symbol);
  if (!row) return;
  let best = null;
  for (const o of opps.values()) {
    if (o.symbol === symbol && (!best || o.net_pct > best.net_pct)) best = o;
  }
  if (!best) {
    row.best.replaceChildren(el("span", "muted", "–"));
    return;
  }
  const link = el("a", "opp-route", `${best.buy_exchange} → ${best.sell_exchange}`);
  link.href = "/opportunities";
  row.best.replaceChildren(link, el("span", `pct ${best.net_pct >= 0 ? "pos" : "neg"}`,
    ` ${formatPct(best.net_pct)}`));
}

function onQuote(q) {
  if (typeof q.symbol !== "string" || typeof q.exchange !== "string") return;
  ensure(q.symbol, q.exchange);
  const key = qkey(q.symbol, q.exchange);
  const old = quotes.get(key);
  precision.see(key, q.bid, q.ask);
  quotes.set(key, { bid: q.bid, ask: q.ask, seenAt: Date.now() - (q.age_s || 0) * 1000 });
  let direction = 0;
  if (old) {
    const mid = (q.bid + q.ask) / 2;
    const oldMid = (old.bid + old.ask) / 2;
    direction = mid > oldMid ? 1 : mid < oldMid ? -1 : 0;
  }
  renderQuote(q.symbol, q.exchange, direction);
}

function onOpportunity(o) {
  if (typeof o.symbol !== "string") return;
  const key = `${o.symbol}|${o.buy_exchange}|${o.sell_exchange}`;
  if (o.action === "close") opps.delete(key);
  else opps.set(key, { ...opps.get(key), ...o });
  ensure(o.symbol);
  renderBest(o.symbol);
}

async function loadQuotes() {
  const data = await getJSON("/api/quotes");
  if (!data || !Array.isArray(data.quotes)) return;
  for (const q of data.quotes) {
    if (typeof q.symbol !== "string" || typeof q.exchange !== "string") continue;
    symbols.add(q.symbol);
    if (!exchanges.includes(q.exchange)) exchanges.push(q.exchange);
  }
  rebuild();
  for (const q of data.quotes) onQuote(q);
}

async function loadOpportunities() {
  const data = await getJSON("/api/opportunities?limit=1000");
  if (!data || !Array.isArray(data.opportunities)) return;
  opps.clear();
  for (const o of data.opportunities) onOpportunity(o);
  for (const symbol of rows.keys()) renderBest(symbol);
}

async function loadSymbols() {
  const data = await getJSON("/api/symbols");
  if (!data || !Array.isArray(data.symbols)) return;
  for (const s of data.symbols) {
    if (typeof s.symbol !== "string") continue;
    ensure(s.symbol);
    changes.set(s.symbol, { h1: s.change_1h_pct, h24: s.change_24h_pct });
    renderChanges(s.symbol);
  }
}

async function start() {
  await loadQuotes();
  await Promise.all([loadOpportunities(), loadSymbols()]);
  connectLive((type, data) => {
    if (type === "quote") onQuote(data);
    else if (type === "opportunity") onOpportunity(data);
  });
  setInterval(() => {
    for (const [symbol, row] of rows) {
      for (const [ex, td] of row.cells) {
        const q = quotes.get(qkey(symbol, ex));
        if (q) renderAge(td, q);
      }
    }
  }, 1000);
  // Resync now and then: a close event missed during a reconnect must not linger.
  setInterval(loadOpportunities, 30000);
  setInterval(loadSymbols, 60000);
}

start();
