// The observatory dashboard: plain JavaScript over the public GraphQL API,
// charts drawn as SVG. No build step, no third-party code.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const state = { token: "", selected: null, released: false };

// Territories by name: a country's, and a subdivision's code beside it.
const regions = typeof Intl.DisplayNames === "function" ? new Intl.DisplayNames(["en"], { type: "region" }) : null;
function territoryName(code) {
  if (!code) return code;
  const country = code.slice(0, 2).toUpperCase();
  let name = country;
  try {
    name = (regions && regions.of(country)) || country;
  } catch (_) {
    name = country;
  }
  return code.length > 2 ? `${name} (${code})` : name;
}

// A figure's 95 % interval half-width, when the release gives its error.
const interval = (se) => (se === null || se === undefined ? null : 1.96 * se);

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
    const failure = new Error((code ? code + ": " : "") + error.message);
    failure.code = code;
    throw failure;
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
        metrics { trustIndex ratingCount signatures responses { responseRate } standardErrors { trustIndex signatures } }
      } } }
      privacy { mode rhoPerPeriod rhoSpent rhoTotal periodsReleased { period } } }
    }`,
    { filter: filter() },
  );
  const privacy = data.observatory.privacy;
  state.released = privacy.mode === "DP";
  const release = document.getElementById("release");
  if (state.released) {
    const months = privacy.periodsReleased.map((p) => p.period.slice(0, 7));
    document.getElementById("about").textContent =
      "Aggregates only, released with differential privacy: figures carry noise, shown with their 95 % interval (±).";
    release.hidden = false;
    release.replaceChildren(
      months.length
        ? `Months released: ${months[0]} to ${months[months.length - 1]} (${months.length}); budget ρ = ${privacy.rhoPerPeriod} per month, ${privacy.rhoSpent} of ${privacy.rhoTotal} spent. `
        : "No month released yet: figures appear once a month has ended and been released. ",
    );
    const ledger = document.createElement("a");
    ledger.href = "/observatory/privacy";
    ledger.textContent = "The privacy ledger";
    release.append(ledger);
  } else {
    release.hidden = true;
    document.getElementById("about").textContent =
      `Aggregates only; producer-periods behind fewer than ${data.observatory.k} members are left out of every figure.`;
  }
  document.querySelectorAll(".legend .interval").forEach((item) => (item.hidden = !state.released));
  const body = document.querySelector("#ranking tbody");
  body.replaceChildren();
  const rows = data.observatory.ranking.edges.map((edge) => edge.node);
  rows.forEach((row, index) => {
    const tr = document.createElement("tr");
    tr.dataset.producer = row.producer.id;
    const m = row.metrics;
    const errors = m && m.standardErrors;
    const pm = (value, digits) => (value === null ? "" : ` ±${value.toFixed(digits)}`);
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
      const half = errors ? (i === 3 ? interval(errors.trustIndex) : i === 5 ? interval(errors.signatures) : null) : null;
      if (half !== null && text !== "–") {
        const span = document.createElement("span");
        span.className = "pm";
        span.textContent = pm(half, i === 3 ? 1 : 0);
        td.append(span);
      }
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
    const half = interval(point.metrics.standardErrors && point.metrics.standardErrors.trustIndex);
    if (half !== null) {
      const low = Math.max(0, value - half), high = Math.min(100, value + half);
      svg.append(el("line", { class: "error-bar", x1: x(i), x2: x(i), y1: y(low), y2: y(high), stroke: "#2f6fde", "stroke-opacity": 0.6 }));
    }
    svg.append(el("circle", { cx: x(i), cy: y(value), r: 3, fill: "#2f6fde", "data-value": value.toFixed(1) }));
    drawn += 1;
  });
  svg.insertBefore(el("path", { d: path.trim() || "M0,0", fill: "none", stroke: "#2f6fde", "stroke-width": 2 }), svg.firstChild.nextSibling);
  if (drawn === 0) svg.append(el("text", { x: width / 2, y: height / 2, "text-anchor": "middle" }, "every month is suppressed or has no ratings"));
  svg.dataset.points = String(drawn);
}

function drawBars(svg, cells, label) {
  svg.replaceChildren();
  // Best first, so the order reads as a ranking.
  const shown = cells
    .filter((cell) => cell.metrics && cell.metrics.trustIndex !== null)
    .sort((a, b) => b.metrics.trustIndex - a.metrics.trustIndex)
    .slice(0, 12);
  const width = 520, rowHeight = Math.min(20, 240 / Math.max(shown.length, 1)), left = 150;
  const scale = (v) => ((width - left - 70) * Math.max(0, Math.min(100, v))) / 100;
  let errorBars = 0;
  shown.forEach((cell, i) => {
    const value = cell.metrics.trustIndex;
    const y = 8 + i * rowHeight;
    const name = (label || ((c) => c.label))(cell);
    svg.append(el("text", { x: left - 6, y: y + rowHeight * 0.7, "text-anchor": "end" }, name.length > 24 ? name.slice(0, 23) + "…" : name));
    svg.append(el("rect", { x: left, y: y + 2, width: scale(value), height: rowHeight - 5, rx: 3, fill: value >= 50 ? "#1f9d6b" : "#d0493b", "data-value": value.toFixed(1) }));
    const half = interval(cell.metrics.standardErrors && cell.metrics.standardErrors.trustIndex);
    let text = value.toFixed(1);
    if (half !== null) {
      const mid = y + rowHeight / 2 - 0.5;
      svg.append(el("line", { class: "error-bar", x1: left + scale(value - half), x2: left + scale(value + half), y1: mid, y2: mid, stroke: "#1d2433", "stroke-width": 1.5 }));
      svg.append(el("line", { x1: left + scale(value - half), x2: left + scale(value - half), y1: mid - 3, y2: mid + 3, stroke: "#1d2433" }));
      svg.append(el("line", { x1: left + scale(value + half), x2: left + scale(value + half), y1: mid - 3, y2: mid + 3, stroke: "#1d2433" }));
      text += ` ±${half.toFixed(1)}`;
      errorBars += 1;
    }
    svg.append(el("text", { x: left + scale(Math.max(value, value + (half || 0))) + 4, y: y + rowHeight * 0.7 }, text));
  });
  svg.dataset.errorBars = String(errorBars);
  const hidden = cells.length - shown.length;
  if (hidden > 0) svg.append(el("text", { x: left, y: 255 }, `${hidden} more suppressed or without ratings`));
  svg.dataset.bars = String(shown.length);
}

async function loadGroups() {
  const data = await gql(
    `query Groups($filter: ObservatoryFilter) {
      observatory {
        sectors: groups(by: SECTOR, filter: $filter) { key label suppressed memberCount metrics { trustIndex standardErrors { trustIndex } } }
        territories: groups(by: TERRITORY, filter: $filter) { key label suppressed memberCount metrics { trustIndex standardErrors { trustIndex } } }
      }
    }`,
    { filter: filter() },
  );
  drawBars(document.getElementById("sectors"), data.observatory.sectors);
  drawBars(document.getElementById("territories"), data.observatory.territories, (cell) => territoryName(cell.key));
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
          start suppressed memberCount metrics { trustIndex ratingCount standardErrors { trustIndex } }
        } }
      }`,
      { id: producer.id, from: from.toISOString(), to: to.toISOString() },
    );
    drawSeries(document.getElementById("series"), data.observatory.series);
  } catch (error) {
    const svg = document.getElementById("series");
    // What a reader needs, rather than the error's code.
    const message =
      error.code === "UNAUTHENTICATED"
        ? "Trust over time is open to analysts: paste an analyst's token above."
        : error.code === "FORBIDDEN"
          ? "Trust over time is open to analysts and admins; this account is neither."
          : "Trust over time could not be loaded: " + error.message;
    svg.replaceChildren(el("text", { x: 260, y: 130, "text-anchor": "middle" }, message));
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
