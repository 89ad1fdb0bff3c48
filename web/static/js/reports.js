// Reports page: a bar chart (uPlot) of one report's opportunity counts per symbol and venue pair.
import { el, getJSON } from "./common.js";

const chartBox = document.getElementById("chart");
const title = document.getElementById("chart-title");
const table = document.getElementById("reports");
let chart = null;

function cssVar(name, fallback) {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

function axis() {
  const grid = cssVar("--grid", "rgba(128,128,128,0.2)");
  return { stroke: cssVar("--fg-muted", "#888"), grid: { stroke: grid, width: 1 },
    ticks: { stroke: grid, width: 1 } };
}

function label(p) {
  return `${p.symbol} ${p.buy_exchange}→${p.sell_exchange}`;
}

function draw(report) {
  if (chart) chart.destroy();
  chart = null;
  chartBox.replaceChildren();
  const pairs = Array.isArray(report.pairs) ? report.pairs.slice(0, 40) : [];
  title.textContent = `Opportunities per symbol and venue pair · ${report.id}`;
  if (!pairs.length) {
    chartBox.append(el("p", "muted", "No opportunities in this period."));
    return;
  }
  if (typeof window.uPlot !== "function") {
    chartBox.append(el("p", "muted", "chart library failed to load"));
    return;
  }
  const labels = pairs.map(label);
  const xs = pairs.map((_, i) => i);
  const counts = pairs.map((p) => Number(p.opportunities) || 0);
  const bars = window.uPlot.paths && window.uPlot.paths.bars
    ? window.uPlot.paths.bars({ size: [0.6, 60] }) : undefined;
  const accent = cssVar("--accent", "#2f7ed8");
  chart = new window.uPlot({
    width: Math.max(chartBox.clientWidth, 280), height: 300,
    scales: { x: { time: false, range: () => [-0.5, pairs.length - 0.5] } },
    axes: [
      { ...axis(), incrs: [1], rotate: -35, size: 90,
        values: (u, splits) => splits.map((i) => labels[i] ?? "") },
      { ...axis(), size: 50 },
    ],
    series: [
      { label: "pair", value: (u, i) => (i === null ? "–" : labels[i] ?? "–") },
      { label: "opportunities", stroke: accent, fill: accent, paths: bars,
        points: { show: !bars } },
    ],
    legend: { live: true },
  }, [xs, counts], chartBox);
}

async function show(id) {
  const report = await getJSON(`/api/reports/${encodeURIComponent(id)}.json`);
  if (!report) {
    title.textContent = `Report ${id} could not be loaded`;
    return;
  }
  for (const tr of table.querySelectorAll("tbody tr")) {
    tr.classList.toggle("selected", tr.dataset.id === id);
  }
  draw(report);
}

table.addEventListener("click", (event) => {
  const button = event.target.closest("button.show-chart");
  if (button) show(button.dataset.id);
});

const first = table.querySelector("tbody tr[data-id]");
if (first) show(first.dataset.id);
