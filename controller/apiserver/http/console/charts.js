// Charts for the console: small inline SVG drawn here (no library, no CDN). Each chart is a
// <figure> whose SVG has a text summary (role="img" + <title>) and whose numbers are also in a
// table below it, so it reads without colour, without sight and without the picture. Series differ
// by dash pattern and carry their name at their last point, not by colour alone.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const CHART = { width: 560, height: 200, left: 52, right: 96, top: 12, bottom: 40 };
const DASHES = ["", "6 3", "2 3", "10 3 2 3", "1 5", "12 6"];
let chartCount = 0;
const openTables = new Set(); // ids of charts whose number table the user opened: redraws keep them open

function svg(tag, attributes, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, String(value));
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

// The smallest of 1, 2, 2.5, 5 x 10^n at or above value (an axis top that reads well).
function niceCeiling(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function clock(seconds) {
  return new Date(seconds * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

// A line chart over time. series: [{ name, values }] with values[i] at times[i] (null: no data).
// format(value) writes a value for the axis, the labels and the table.
function lineChart({ id, title, times, series, format, summary }) {
  chartCount += 1;
  const titleId = `chart-title-${chartCount}`;
  const plotWidth = CHART.width - CHART.left - CHART.right;
  const plotHeight = CHART.height - CHART.top - CHART.bottom;
  const known = series.flatMap((line) => line.values.filter((value) => value !== null && value !== undefined));
  const top = niceCeiling(Math.max(0, ...known));
  const start = times.length ? times[0] : 0;
  const span = times.length > 1 ? times[times.length - 1] - start : 1;
  const x = (time) => CHART.left + ((time - start) / span) * plotWidth;
  const y = (value) => CHART.top + plotHeight - (value / top) * plotHeight;
  const picture = svg("svg", { viewBox: `0 0 ${CHART.width} ${CHART.height}`, class: "chart-svg", role: "img", "aria-labelledby": titleId },
    svg("title", { id: titleId }, `${title}: ${summary}`),
    svg("line", { x1: CHART.left, y1: y(0), x2: CHART.left + plotWidth, y2: y(0), class: "axis" }),
    svg("line", { x1: CHART.left, y1: y(0), x2: CHART.left, y2: y(top), class: "axis" }),
    svg("text", { x: CHART.left - 4, y: y(top) + 4, "text-anchor": "end", class: "tick" }, format(top)),
    svg("text", { x: CHART.left - 4, y: y(0), "text-anchor": "end", class: "tick" }, format(0)));
  if (times.length) {
    picture.append(svg("text", { x: CHART.left, y: CHART.height - 4, class: "tick" }, clock(times[0])),
      svg("text", { x: CHART.left + plotWidth, y: CHART.height - 4, "text-anchor": "end", class: "tick" }, clock(times[times.length - 1])));
  }
  const labels = [];
  series.forEach((line, index) => {
    const points = [];
    line.values.forEach((value, at) => { if (value !== null && value !== undefined) points.push([x(times[at]), y(value)]); });
    if (!points.length) return;
    const path = points.map(([px, py], at) => `${at ? "L" : "M"}${px.toFixed(1)},${py.toFixed(1)}`).join(" ");
    const attributes = { d: path, class: `series series-${index % DASHES.length}`, fill: "none" };
    if (DASHES[index % DASHES.length]) attributes["stroke-dasharray"] = DASHES[index % DASHES.length];
    picture.append(svg("path", attributes));
    labels.push({ name: line.name, at: points[points.length - 1] });
  });
  // Each series' name at its last point, moved down just enough that no two names overlap.
  labels.sort((a, b) => a.at[1] - b.at[1]);
  let below = -Infinity;
  for (const label of labels) {
    const labelY = Math.max(label.at[1] + 4, below + 12);
    below = labelY;
    picture.append(svg("text", { x: label.at[0] + 4, y: labelY.toFixed(1), class: "series-label" }, label.name));
  }
  const head = el("tr", {}, el("th", { scope: "col" }, "time"), series.map((line) => el("th", { scope: "col" }, line.name)));
  const rows = times.map((time, at) => el("tr", {}, el("td", {}, clock(time)),
    series.map((line) => el("td", {}, line.values[at] === null || line.values[at] === undefined ? "–" : format(line.values[at])))));
  return el("figure", { id, class: "chart" }, el("figcaption", {}, title), picture,
    el("details", { open: openTables.has(id), ontoggle: (event) => {
      if (event.target.open) openTables.add(id); else openTables.delete(id);
    } }, el("summary", {}, `${title}: the numbers`),
      el("table", { class: "chart-data" }, el("thead", {}, head), el("tbody", {}, rows.reverse()))));
}

// Horizontal bars: allocated of allocatable per group, one bar per group and resource.
// groups: [{ name, cpu: [allocated, allocatable], memory: [allocated, allocatable] }]
function allocationChart({ id, title, groups }) {
  chartCount += 1;
  const titleId = `chart-title-${chartCount}`;
  const rowHeight = 18;
  const labelWidth = 170;
  const barWidth = 300;
  const rowsOf = groups.flatMap((group) => [[group.name, "CPU", group.cpu, cores], [group.name, "memory", group.memory, bytes]]);
  const height = rowsOf.length * rowHeight + 8;
  const percent = ([used, total]) => (total > 0 ? Math.round((used / total) * 100) : 0);
  const picture = svg("svg", { viewBox: `0 0 ${labelWidth + barWidth + 70} ${height}`, class: "chart-svg", role: "img", "aria-labelledby": titleId },
    svg("title", { id: titleId }, `${title}: ` + groups.map((group) =>
      `${group.name} CPU ${percent(group.cpu)}%, memory ${percent(group.memory)}%`).join("; ")));
  rowsOf.forEach(([group, resource, pair], index) => {
    const top = index * rowHeight + 4;
    const share = Math.min(1, pair[1] > 0 ? pair[0] / pair[1] : 0);
    picture.append(
      svg("text", { x: labelWidth - 6, y: top + 12, "text-anchor": "end", class: "tick" }, `${group} ${resource}`),
      svg("rect", { x: labelWidth, y: top, width: barWidth, height: rowHeight - 6, class: "bar-back" }),
      svg("rect", { x: labelWidth, y: top, width: (share * barWidth).toFixed(1), height: rowHeight - 6, class: "bar-fill" }),
      svg("text", { x: labelWidth + barWidth + 6, y: top + 12, class: "tick" }, `${percent(pair)}%`));
  });
  const rows = groups.map((group) => el("tr", {}, el("th", { scope: "row" }, group.name),
    el("td", {}, String(group.nodes)),
    el("td", {}, `${cores(group.cpu[0])} / ${cores(group.cpu[1])}`),
    el("td", {}, `${bytes(group.memory[0])} / ${bytes(group.memory[1])}`)));
  return el("figure", { id, class: "chart" }, el("figcaption", {}, title), picture,
    el("table", { class: "chart-data" },
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "group"), el("th", { scope: "col" }, "nodes"),
        el("th", { scope: "col" }, "CPU allocated / allocatable (cores)"), el("th", { scope: "col" }, "memory allocated / allocatable"))),
      el("tbody", {}, rows)));
}
