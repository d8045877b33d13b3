// The observatory dashboard: plain JavaScript over the public GraphQL API,
// charts drawn as SVG. No build step, no third-party code.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const state = { token: "", selected: null };

function el(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function status(message) {
  document.getElementById("status").textContent = message || "";
}

async function gql(query, variables) {
  const headers = { "content-type": "application/json", accept: "application/graphql-response+json, application/json" };
  if (state.token) headers.authorization = "Bearer " + state.token;
  const response = await fetch("/graphql", { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  const body = await response.json();
  if (body.errors && body.errors.length) {
    const error = body.errors[0];
    const code = error.extensions && error.extensions.code;
    throw new Error((code ? code + ": " : "") + error.message);
  }
  return body.data;
}

function filter() {
  const value = (id) => document.getElementById(id).value.trim();
  const out = {};
  if (value("sector")) out.sector = value("sector");
  if (value("territory")) out.territory = value("territory");
  return out;
}

const fmt = (value, digits) => (value === null || value === undefined ? "–" : Number(value).toFixed(digits));

async function loadRanking() {
  const data = await gql(
    `query Ranking($filter: ObservatoryFilter) {
      observatory { k ranking(first: 20, filter: $filter) { totalCount edges { node {
        suppressed memberCount
        producer { id name sector territory }
        metrics { trustIndex ratingCount signatures responses { responseRate } }
      } } } }
    }`,
    { filter: filter() },
  );
  document.getElementById("about").textContent =
    `Aggregates only; producer-periods behind fewer than ${data.observatory.k} members are left out of every figure.`;
  const body = document.querySelector("#ranking tbody");
  body.replaceChildren();
  const rows = data.observatory.ranking.edges.map((edge) => edge.node);
  rows.forEach((row, index) => {
    const tr = document.createElement("tr");
    tr.dataset.producer = row.producer.id;
    const m = row.metrics;
    const cells = [
      String(index + 1),
      row.producer.name,
      row.producer.sector,
      m && m.trustIndex !== null ? fmt(m.trustIndex, 1) : row.suppressed ? "suppressed" : "–",
      m ? String(m.ratingCount) : "–",
      m ? String(m.signatures) : "–",
      m && m.responses.responseRate !== null ? fmt(100 * m.responses.responseRate, 0) + "%" : "–",
      row.memberCount === null ? "–" : String(row.memberCount),
    ];
    cells.forEach((text, i) => {
      const td = document.createElement("td");
      if (i >= 3) td.className = "num";
      if (i === 3 && m && m.trustIndex !== null) {
        const bar = document.createElement("span");
        bar.className = "bar";
        bar.style.width = Math.round(m.trustIndex * 0.6) + "px";
        td.append(bar);
      }
      td.append(text);
      tr.append(td);
    });
    tr.addEventListener("click", () => selectProducer(row.producer));
    body.append(tr);
  });
  return rows;
}

function axes(svg, width, height, pad) {
  svg.append(el("line", { x1: pad.left, y1: height - pad.bottom, x2: width - pad.right, y2: height - pad.bottom, stroke: "#cfd4df" }));
  for (const tick of [0, 25, 50, 75, 100]) {
    const y = height - pad.bottom - (tick / 100) * (height - pad.top - pad.bottom);
    svg.append(el("line", { x1: pad.left, y1: y, x2: width - pad.right, y2: y, stroke: "#eef0f5" }));
    svg.append(el("text", { x: pad.left - 6, y: y + 4, "text-anchor": "end" }, String(tick)));
  }
}

function drawSeries(svg, points) {
  svg.replaceChildren();
  const width = 520, height = 260, pad = { top: 14, right: 12, bottom: 28, left: 34 };
  axes(svg, width, height, pad);
  const step = (width - pad.left - pad.right) / Math.max(points.length - 1, 1);
  const x = (i) => pad.left + i * step;
  const y = (v) => height - pad.bottom - (v / 100) * (height - pad.top - pad.bottom);
  let path = "";
  let drawn = 0;
  points.forEach((point, i) => {
    const label = point.start.slice(0, 7);
    if (i % Math.ceil(points.length / 6) === 0) svg.append(el("text", { x: x(i), y: height - 8, "text-anchor": "middle" }, label));
    const value = point.metrics && point.metrics.trustIndex;
    if (value === null || value === undefined) {
      path += " ";
      return;
    }
    path += (path.trim() === "" || path.endsWith(" ") ? "M" : "L") + x(i).toFixed(1) + "," + y(value).toFixed(1);
    svg.append(el("circle", { cx: x(i), cy: y(value), r: 3, fill: "#2f6fde", "data-value": value.toFixed(1) }));
    drawn += 1;
  });
  svg.insertBefore(el("path", { d: path.trim() || "M0,0", fill: "none", stroke: "#2f6fde", "stroke-width": 2 }), svg.firstChild.nextSibling);
  if (drawn === 0) svg.append(el("text", { x: width / 2, y: height / 2, "text-anchor": "middle" }, "every month is suppressed or has no ratings"));
  svg.dataset.points = String(drawn);
}

function drawBars(svg, cells) {
  svg.replaceChildren();
  const shown = cells.filter((cell) => cell.metrics && cell.metrics.trustIndex !== null).slice(0, 12);
  const width = 520, rowHeight = Math.min(20, 240 / Math.max(shown.length, 1)), left = 110;
  shown.forEach((cell, i) => {
    const value = cell.metrics.trustIndex;
    const y = 8 + i * rowHeight;
    svg.append(el("text", { x: left - 6, y: y + rowHeight * 0.7, "text-anchor": "end" }, cell.label));
    svg.append(el("rect", { x: left, y: y + 2, width: ((width - left - 50) * value) / 100, height: rowHeight - 5, rx: 3, fill: value >= 50 ? "#1f9d6b" : "#d0493b", "data-value": value.toFixed(1) }));
    svg.append(el("text", { x: left + ((width - left - 50) * value) / 100 + 4, y: y + rowHeight * 0.7 }, value.toFixed(1)));
  });
  const hidden = cells.length - shown.length;
  if (hidden > 0) svg.append(el("text", { x: left, y: 255 }, `${hidden} more suppressed or without ratings`));
  svg.dataset.bars = String(shown.length);
}

async function loadGroups() {
  const data = await gql(
    `query Groups($filter: ObservatoryFilter) {
      observatory {
        sectors: groups(by: SECTOR, filter: $filter) { key label suppressed memberCount metrics { trustIndex } }
        territories: groups(by: TERRITORY, filter: $filter) { key label suppressed memberCount metrics { trustIndex } }
      }
    }`,
    { filter: filter() },
  );
  drawBars(document.getElementById("sectors"), data.observatory.sectors);
  drawBars(document.getElementById("territories"), data.observatory.territories);
}

async function selectProducer(producer) {
  state.selected = producer;
  document.querySelectorAll("#ranking tbody tr").forEach((tr) => tr.classList.toggle("selected", tr.dataset.producer === producer.id));
  document.getElementById("series-title").textContent = "Trust over time: " + producer.name;
  const to = new Date();
  const from = new Date(Date.UTC(to.getUTCFullYear() - 1, to.getUTCMonth(), 1));
  try {
    const data = await gql(
      `query Series($id: ID!, $from: DateTime!, $to: DateTime!) {
        observatory { series(producerId: $id, bucket: MONTH, from: $from, to: $to) {
          start suppressed memberCount metrics { trustIndex ratingCount }
        } }
      }`,
      { id: producer.id, from: from.toISOString(), to: to.toISOString() },
    );
    drawSeries(document.getElementById("series"), data.observatory.series);
  } catch (error) {
    const svg = document.getElementById("series");
    svg.replaceChildren(el("text", { x: 260, y: 130, "text-anchor": "middle" }, "time series: " + error.message));
    svg.dataset.points = "0";
  }
}

async function refresh() {
  status("");
  try {
    const [rows] = await Promise.all([loadRanking(), loadGroups()]);
    // Open on the producer with the most members behind it: the fullest history.
    const released = rows.filter((row) => !row.suppressed);
    released.sort((a, b) => b.memberCount - a.memberCount);
    if (released.length) await selectProducer(released[0].producer);
    document.body.dataset.ready = "1";
  } catch (error) {
    status(error.message);
    document.body.dataset.ready = "error";
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromHash) {
    sessionStorage.setItem("consumact-token", fromHash);
    history.replaceState(null, "", location.pathname + location.search);
  }
  state.token = sessionStorage.getItem("consumact-token") || "";
  document.getElementById("token").value = state.token;
  document.getElementById("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    state.token = document.getElementById("token").value.trim();
    sessionStorage.setItem("consumact-token", state.token);
    refresh();
  });
  refresh();
});
