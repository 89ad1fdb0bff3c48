// Feeds page: per-venue state, last message age, message rate, reconnects, parse errors.
import { connectLive, el, formatAge, getJSON } from "./common.js";

const body = document.querySelector("#feeds tbody");
const feeds = new Map();  // exchange → status row (API shape) + seenAt, lastMsgAt (ms)

function num(value) {
  const n = Number(value);
  return isFinite(n) ? n : null;
}

function render() {
  if (!feeds.size) return;
  const rows = [...feeds.values()].sort((a, b) => a.name.localeCompare(b.name)).map((f) => {
    const tr = el("tr");
    tr.dataset.ex = f.name;
    const age = f.lastMsgAt ? (Date.now() - f.lastMsgAt) / 1000 : null;
    const state = String(f.state || "unknown");
    const stateTd = el("td", "state", state);
    stateTd.dataset.state = state;
    const rate = num(f.message_rate);
    const fee = num(f.taker_fee);
    tr.append(
      el("td", null, f.name), stateTd,
      el("td", `num last${age !== null && age > 10 ? " warn" : ""}`, age === null ? "never" : `${formatAge(age)} ago`),
      el("td", "num rate", rate === null ? "–" : rate.toFixed(1)),
      el("td", "num messages", fmtInt(f.messages)), el("td", "num quotes", fmtInt(f.quotes)),
      el("td", "num markets", fmtInt(f.markets)),
      el("td", `num reconnects${num(f.reconnects) > 0 ? " warn" : ""}`, fmtInt(f.reconnects)),
      el("td", `num parse_errors${num(f.parse_errors) > 0 ? " bad" : ""}`, fmtInt(f.parse_errors)),
      el("td", "num fee", fee === null ? "–" : `${(fee * 100).toFixed(3)} %`),
    );
    return tr;
  });
  body.replaceChildren(...rows);
}

function fmtInt(value) {
  const n = num(value);
  return n === null ? "–" : n.toLocaleString("en-US");
}

async function load() {
  const data = await getJSON("/api/exchanges");
  if (!data || !Array.isArray(data.exchanges)) return;
  for (const ex of data.exchanges) {
    if (typeof ex.name !== "string") continue;
    const age = num(ex.last_message_age_s);
    feeds.set(ex.name, { ...feeds.get(ex.name), ...ex,
      lastMsgAt: age === null ? null : Date.now() - age * 1000 });
  }
  render();
}

/** A feed event carries the status hash's fields (the rate comes from the API); merge them. */
function onFeed(d) {
  if (typeof d.exchange !== "string") return;
  const old = feeds.get(d.exchange) || { name: d.exchange };
  const next = { ...old, name: d.exchange };
  for (const k of ["state", "messages", "quotes", "reconnects", "parse_errors", "markets", "connections"]) {
    if (d[k] !== undefined) next[k] = d[k];
  }
  const lastNs = num(d.last_message_ns);
  // Arrival time stands in for the worker's clock: the event was sent moments ago.
  if (lastNs) next.lastMsgAt = Date.now();
  feeds.set(d.exchange, next);
  render();
}

async function start() {
  await load();
  connectLive((type, data) => { if (type === "feed") onFeed(data); });
  setInterval(load, 5000);
  setInterval(render, 1000);
}

start();
