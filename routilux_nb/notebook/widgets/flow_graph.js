// FlowGraph view: one SVG for the whole flow.
// The geometry is built once per `graph_layout`; status, queues, edge counts,
// breakpoints, selection, search and zoom only restyle existing elements.
//
// Large flows stay readable: below FAR_SCALE the view switches to a semantic
// zoom (each box shows only its name, in type that keeps NAME_PX on screen),
// Fit never goes below MIN_FIT (the rest is reached by panning, with a
// minimap), search zooms to READ_SCALE, and the canvas height follows the flow.
// The mouse wheel zooms only with Ctrl/⌘ or after a click into the graph, so
// the notebook page scrolls over it.

const NS = "http://www.w3.org/2000/svg";
const PORT_Y0 = 40;
const PORT_DY = 18;
const FAR_SCALE = 0.75;
const MIN_FIT = 0.35;
const READ_SCALE = 1;
const MAX_SCALE = 3;
const MAX_FIT = 1.5;
const STEPS = [0.03, 0.05, 0.08, 0.12, 0.18, 0.25, 0.35, 0.5, 0.75, 1, 1.5, 2, 3];
const NAME_PX = 12.5;
const NAME_MAX_UNITS = 40;
const PAD = 12;
const MIN_HEIGHT = 240;
const MAX_HEIGHT = 640;
const HINT_MS = 1400;

function clamp(v, lo, hi) {
  return Math.min(Math.max(v, lo), hi);
}

function svg(tag, attrs, parent) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  if (parent) parent.appendChild(node);
  return node;
}

function html(tag, cls, parent, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

function portY(i) {
  return PORT_Y0 + PORT_DY * i + PORT_DY / 2;
}

function edgePath(points) {
  if (!points || !points.length) return "";
  let d = `M${points[0][0]},${points[0][1]}`;
  for (let i = 1; i + 2 < points.length; i += 3) {
    const [a, b, c] = [points[i], points[i + 1], points[i + 2]];
    d += ` C${a[0]},${a[1]} ${b[0]},${b[1]} ${c[0]},${c[1]}`;
  }
  return d;
}

function edgeMidpoint(points) {
  if (points.length === 4) {
    const f = (k) => (points[0][k] + 3 * points[1][k] + 3 * points[2][k] + points[3][k]) / 8;
    return [f(0), f(1)];
  }
  return points[Math.floor(points.length / 2)];
}

function clip(text, width, charWidth) {
  const room = Math.max(Math.floor(width / (charWidth || 6.6)), 4);
  return text.length <= room ? text : text.slice(0, room - 1) + "…";
}

function fmtDuration(seconds) {
  if (typeof seconds !== "number") return "–";
  return seconds < 1 ? `${(seconds * 1000).toFixed(1)} ms` : `${seconds.toFixed(2)} s`;
}

function buildNode(rid, n, layer) {
  const g = svg("g", { class: "rnb-node", "data-routine-id": rid, transform: `translate(${n.x},${n.y})` }, layer);
  const members = n.members || null;
  if (members) g.classList.add("rnb-group");
  svg("title", {}, g).textContent = members
    ? `${n.class_name}: ${members.join(" → ")} (click to expand)`
    : `${rid} (${n.class_name})`;
  svg("rect", { class: "rnb-box", width: n.w, height: n.h, rx: 6 }, g);
  svg("rect", { class: "rnb-strip", width: n.w, height: 4, rx: 2 }, g);
  svg("text", { class: "rnb-title", x: 10, y: 18 }, g).textContent = clip(rid, n.w - 40);
  const name = svg("text", { class: "rnb-name", x: n.w / 2, y: n.h / 2, "text-anchor": "middle" }, g);
  name.setAttribute("dominant-baseline", "central");
  const nameText = svg("tspan", {}, name);
  const nameCounts = svg("tspan", { class: "rnb-name-counts" }, name);
  svg("text", { class: "rnb-class", x: 10, y: 33 }, g).textContent = clip(n.class_name, n.w / 2, 6);
  const counts = svg("text", { class: "rnb-counts", x: n.w - 8, y: 33, "text-anchor": "end" }, g);
  const bp = svg("circle", { class: "rnb-bp", cx: n.w - 12, cy: 14, r: 5 }, g);
  if (!members) bp.setAttribute("data-bp-toggle", rid);
  svg("title", {}, bp).textContent = members ? "a breakpoint inside" : "toggle breakpoint";
  const gauges = new Map();
  n.slots.forEach((slot, i) => {
    const y = portY(i);
    svg("circle", { class: "rnb-port", cx: 0, cy: y, r: 4 }, g);
    const name = svg("text", { class: "rnb-port-label", x: 8, y: y + 3 }, g);
    name.textContent = clip(slot, n.w / 2 - 10, 6);
    const gauge = svg("g", { class: "rnb-gauge", "data-slot": slot, visibility: "hidden" }, g);
    const width = n.w / 2 - 12;
    svg("rect", { class: "rnb-gauge-bg", x: 8, y: y + 6, width, height: 2.5 }, gauge);
    const bar = svg("rect", { class: "rnb-gauge-bar", x: 8, y: y + 6, width: 0, height: 2.5 }, gauge);
    const label = svg("text", { class: "rnb-gauge-label", x: n.w / 2 - 4, y: y + 3, "text-anchor": "end" }, gauge);
    gauges.set(slot, { gauge, bar, label, width, name, slot, room: n.w / 2 - 10 });
  });
  n.events.forEach((event, i) => {
    const y = portY(i);
    svg("circle", { class: "rnb-port", cx: n.w, cy: y, r: 4 }, g);
    svg("text", { class: "rnb-port-label", x: n.w - 8, y: y + 3, "text-anchor": "end" }, g).textContent =
      clip(event, n.w / 2 - 10, 6);
  });
  return { g, counts, gauges, name, nameText, nameCounts, w: n.w };
}

function buildEdge(e, layer) {
  const g = svg("g", { class: "rnb-edge", "data-connection-id": e.id }, layer);
  if (e.back) g.classList.add("rnb-back");
  svg("title", {}, g).textContent = `${e.source}.${e.source_event} → ${e.target}.${e.target_slot}`;
  svg("path", { class: "rnb-edge-line", d: edgePath(e.points) }, g);
  const [tx, ty] = e.points[e.points.length - 1];
  svg("path", { class: "rnb-arrow", d: `M${tx},${ty} l-8,-4 l0,8 z` }, g);
  const [mx, my] = edgeMidpoint(e.points);
  const label = svg("text", { class: "rnb-edge-count", x: mx, y: my - 4, "text-anchor": "middle" }, g);
  return { g, label };
}

function render({ model, el }) {
  el.classList.add("rnb-flowgraph");
  el.replaceChildren();
  const toolbar = html("div", "rnb-toolbar", el);
  const search = html("input", "rnb-search", toolbar);
  search.type = "search";
  search.placeholder = "Search routines… (Enter: next)";
  search.value = model.get("highlight") || "";
  const hitCount = html("span", "rnb-hits", toolbar);
  const buttons = {};
  for (const [name, text, tip] of [
    ["fit", "Fit", "Fit the flow's height at a readable scale"],
    ["in", "+", "Zoom in"],
    ["out", "−", "Zoom out"],
  ]) {
    buttons[name] = html("button", "rnb-btn", toolbar, text);
    buttons[name].dataset.zoom = name;
    buttons[name].title = tip;
  }
  const title = html("span", "rnb-flow-title", toolbar);
  const main = html("div", "rnb-main", el);
  const stage = html("div", "rnb-stage", main);
  const canvas = svg("svg", { class: "rnb-canvas" }, stage);
  const edgeLayer = svg("g", { class: "rnb-edges" }, canvas);
  const nodeLayer = svg("g", { class: "rnb-nodes" }, canvas);
  const mini = svg("svg", { class: "rnb-minimap", preserveAspectRatio: "none" }, stage);
  const miniNodes = svg("g", {}, mini);
  const miniView = svg("rect", { class: "rnb-mini-view" }, mini);
  const hint = html("div", "rnb-hint", stage, "Ctrl/⌘ + wheel to zoom, or click the graph first");
  const panel = html("div", "rnb-panel", main);

  let nodes = new Map();
  let edges = new Map();
  let layout = { nodes: {}, edges: [], width: 0, height: 0 };
  let cam = { cx: 0, cy: 0, s: 1 };
  let viewInitialised = false;
  let nameFont = 0;
  let armed = false;
  let autoHeight = "";
  let userSized = false;
  let hintTimer = 0;
  let searchIndex = 0;
  let hitSet = new Set();
  let nearSet = new Set();
  let groupOf = new Map(); // routine id -> id of the summary box it is collapsed into
  let pendingFocus = null; // { rid, scale }: centre on it once a new layout has arrived

  const size = () => [canvas.clientWidth, canvas.clientHeight];
  const bounds = () => ({ w: Math.max(layout.width, 1) + 2 * PAD, h: Math.max(layout.height, 1) + 2 * PAD });

  function fitAllScale() {
    const [cw, ch] = size();
    const b = bounds();
    return Math.min(cw / b.w, ch / b.h);
  }

  function minScale() {
    return Math.max(Math.min(fitAllScale() * 0.9, MIN_FIT), 0.02);
  }

  // Camera: the layout point at the canvas centre and the scale (screen px per layout unit).
  function setCam(cx, cy, s) {
    const [cw, ch] = size();
    if (!cw || !ch) return;
    s = clamp(s, minScale(), MAX_SCALE);
    const b = bounds();
    const hw = cw / s / 2, hh = ch / s / 2;
    // Keep some of the flow in view: the centre may leave the flow by at most half a view.
    cx = 2 * hw >= b.w ? b.w / 2 - PAD : clamp(cx, hw - PAD, b.w - PAD - hw);
    cy = 2 * hh >= b.h ? b.h / 2 - PAD : clamp(cy, hh - PAD, b.h - PAD - hh);
    cam = { cx, cy, s };
    canvas.setAttribute("viewBox", `${cx - hw} ${cy - hh} ${2 * hw} ${2 * hh}`);
    el.dataset.scale = s.toFixed(3);
    cull(cx - hw * 1.25, cy - hh * 1.25, cx + hw * 1.25, cy + hh * 1.25);
    semanticZoom();
    drawMiniView(cx - hw, cy - hh, 2 * hw, 2 * hh);
  }

  // Far out a box shows its name and, when there is room beside it, its live counts.
  function farLabel(rid, node) {
    if (!nameFont) return;
    const name = clip(rid, node.w - 12, nameFont * 0.6);
    const counts = node.counts.textContent;
    const width = (name.length * 0.62 + (counts.length + 1) * 0.5) * nameFont;
    node.nameText.textContent = name;
    node.nameCounts.textContent = counts && width <= node.w - 12 ? ` ${counts}` : "";
  }

  function semanticZoom() {
    const far = cam.s < FAR_SCALE;
    el.classList.toggle("rnb-far", far);
    if (!far) return;
    const font = Math.min(NAME_PX / cam.s, NAME_MAX_UNITS);
    el.classList.toggle("rnb-tiny", font * cam.s < 5);
    el.style.setProperty("--rnb-bp-r", `${Math.min(4.5 / cam.s, 12)}px`);
    if (nameFont && Math.abs(font - nameFont) / font < 0.08) return;
    nameFont = font;
    el.style.setProperty("--rnb-name-size", `${font}px`);
    for (const [rid, node] of nodes) if (node.g) farLabel(rid, node);
  }

  // Fit: the whole flow if that is readable, else its height at MIN_FIT from the sources.
  function fit() {
    const [cw, ch] = size();
    if (!cw || !ch) return false;
    const b = bounds();
    const s = Math.min(Math.max(fitAllScale(), MIN_FIT), MAX_FIT);
    const cx = cw / s >= b.w ? b.w / 2 - PAD : cw / s / 2 - PAD;
    const cy = ch / s >= b.h ? b.h / 2 - PAD : ch / s / 2 - PAD;
    setCam(cx, cy, s);
    return true;
  }

  // The canvas is as tall as the flow at the scale Fit will use (until the user resizes it).
  function followHeight() {
    const cw = canvas.clientWidth;
    if (userSized || !cw) return;
    const b = bounds();
    const s = clamp(cw / b.w, MIN_FIT, 1);
    const px = `${Math.round(clamp(b.h * s, MIN_HEIGHT, MAX_HEIGHT))}px`;
    if (main.style.height !== px) main.style.height = autoHeight = px;
  }

  function zoomAt(factor, px, py) {
    const s = clamp(cam.s * factor, minScale(), MAX_SCALE);
    const k = cam.s / s;
    setCam(px - (px - cam.cx) * k, py - (py - cam.cy) * k, s);
  }

  function step(direction) {
    const s = cam.s;
    const next =
      direction > 0
        ? STEPS.find((v) => v > s * 1.02) ?? MAX_SCALE
        : [...STEPS].reverse().find((v) => v < s / 1.02) ?? minScale();
    setCam(cam.cx, cam.cy, next);
  }

  function toSvg(clientX, clientY) {
    const ctm = canvas.getScreenCTM();
    if (!ctm) return [cam.cx, cam.cy];
    const p = new DOMPoint(clientX, clientY).matrixTransform(ctm.inverse());
    return [p.x, p.y];
  }

  // Centre on a routine; one collapsed into a summary box is expanded first.
  function focus(rid, scale) {
    const group = groupOf.get(rid);
    if (!group) return centerOn(rid, scale);
    pendingFocus = { rid, scale: Math.max(cam.s, scale) };
    centerOn(group, scale);
    model.send({ type: "expand", group });
  }

  function centerOn(rid, scale) {
    const n = layout.nodes[rid];
    if (!n) return;
    setCam(n.x + n.w / 2, n.y + n.h / 2, Math.max(cam.s, scale || 0));
  }

  // Nodes and edges are created when they first come near the view, and only what is
  // near the view is displayed: DOM size, style and layout cost follow the view, not the flow.
  function build() {
    layout = model.get("graph_layout") || { nodes: {}, edges: [] };
    edgeLayer.replaceChildren();
    nodeLayer.replaceChildren();
    miniNodes.replaceChildren();
    nodes = new Map();
    groupOf = new Map();
    for (const [rid, n] of Object.entries(layout.nodes)) {
      for (const m of n.members || []) groupOf.set(m, rid);
      const mini = svg("rect", { class: "rnb-mini-node", x: n.x, y: n.y, width: n.w, height: n.h }, miniNodes);
      nodes.set(rid, { n, mini, g: null, shown: false, box: [n.x, n.y, n.x + n.w, n.y + n.h] });
    }
    edges = new Map();
    for (const e of layout.edges) {
      const xs = e.points.map((p) => p[0]), ys = e.points.map((p) => p[1]);
      const box = [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
      edges.set(e.id, { edge: e, g: null, shown: false, box });
    }
    const b = bounds();
    mini.setAttribute("viewBox", `${-PAD} ${-PAD} ${b.w} ${b.h}`);
    const groups = nodes.size - Object.values(layout.nodes).filter((n) => !n.members).length;
    const count = nodes.size - groups + groupOf.size;
    title.textContent =
      `${model.get("flow_id") || ""} · ${count} routine${count === 1 ? "" : "s"}` +
      (groups ? ` · ${groups} chain${groups === 1 ? "" : "s"} collapsed` : "");
    nameFont = 0;
    applyStatus();
    applyHighlight();
    followHeight();
    viewInitialised = fit();
    if (viewInitialised && pendingFocus && layout.nodes[pendingFocus.rid]) {
      centerOn(pendingFocus.rid, pendingFocus.scale);
      pendingFocus = null;
    }
    // Not on screen yet (no size): draw a small flow now, a large one once its view is known.
    if (!viewInitialised && count <= 150) cull(-Infinity, -Infinity, Infinity, Infinity);
    renderPanel();
  }

  function cull(x0, y0, x1, y1) {
    const near = (box) => box[2] >= x0 && box[0] <= x1 && box[3] >= y0 && box[1] <= y1;
    for (const [id, edge] of edges) {
      const on = near(edge.box);
      if (on && !edge.g) createEdge(id, edge);
      if (edge.g && on !== edge.shown) edge.g.style.display = on ? "" : "none";
      edge.shown = on;
    }
    for (const [rid, node] of nodes) {
      const on = near(node.box);
      if (on && !node.g) createNode(rid, node);
      if (node.g && on !== node.shown) node.g.style.display = on ? "" : "none";
      node.shown = on;
    }
  }

  function createNode(rid, node) {
    Object.assign(node, buildNode(rid, node.n, nodeLayer));
    styleStatus(rid, node, statusOf(rid, model.get("status") || {}));
    styleQueues(node, (model.get("queues") || {})[queueKey(rid)] || {});
    node.g.classList.toggle("rnb-has-bp", hasBreakpoint(rid, new Set(model.get("breakpoints") || [])));
    node.g.classList.toggle("rnb-selected", rid === placeOf(model.get("selected")));
    styleMatch(rid, node);
  }

  function createEdge(id, edge) {
    Object.assign(edge, buildEdge(edge.edge, edgeLayer));
    styleEdgeCount(edge, (model.get("edge_counts") || {})[id]);
    edge.g.classList.toggle("rnb-lit", hitSet.has(edge.edge.source) || hitSet.has(edge.edge.target));
  }

  function drawMiniView(x, y, w, h) {
    const b = bounds();
    const whole = w >= b.w - 1 && h >= b.h - 1;
    el.classList.toggle("rnb-partial", !whole);
    if (whole) return;
    const cw = canvas.clientWidth;
    const mw = Math.min(220, cw * 0.3);
    mini.style.width = `${mw}px`;
    mini.style.height = `${clamp((mw * b.h) / b.w, 36, 110)}px`;
    const x0 = Math.max(x, -PAD), y0 = Math.max(y, -PAD);
    miniView.setAttribute("x", x0);
    miniView.setAttribute("y", y0);
    miniView.setAttribute("width", Math.max(Math.min(x + w, b.w - PAD) - x0, 1));
    miniView.setAttribute("height", Math.max(Math.min(y + h, b.h - PAD) - y0, 1));
  }

  // A summary box: the most telling status of its members, their active and error
  // counts summed, and the executions of its last member (what came out of the chain).
  function statusOf(rid, status) {
    const members = layout.nodes[rid] && layout.nodes[rid].members;
    if (!members) return status[rid] || {};
    const all = members.map((m) => status[m] || {});
    const rank = ["error", "paused", "running"];
    const worst = rank.find((st) => all.some((s) => s.status === st));
    const sum = (k) => all.reduce((acc, s) => acc + (s[k] || 0), 0);
    const last = all[all.length - 1];
    return { status: worst || "idle", active: sum("active"), error_count: sum("error_count"), execution_count: last.execution_count };
  }

  function styleStatus(rid, node, s) {
    node.g.dataset.status = s.status || "idle";
    const parts = [];
    if (s.active) parts.push(`▶${s.active}`);
    if (s.execution_count !== undefined) parts.push(`×${s.execution_count}`);
    if (s.error_count) parts.push(`⚠${s.error_count}`);
    node.counts.textContent = parts.join(" ");
    farLabel(rid, node);
  }

  function applyStatus() {
    const status = model.get("status") || {};
    for (const [rid, node] of nodes) {
      const s = statusOf(rid, status);
      node.mini.dataset.status = s.status || "idle";
      if (node.g) styleStatus(rid, node, s);
    }
    renderPanel();
  }

  function styleQueues(node, slots) {
    for (const [slot, gauge] of node.gauges) {
      const q = slots[slot];
      if (!q) {
        gauge.gauge.setAttribute("visibility", "hidden");
        gauge.name.textContent = clip(gauge.slot, gauge.room, 6);
        continue;
      }
      const max = q.max_length || 0;
      const used = q.unconsumed_count || 0;
      const frac = max ? Math.min(used / max, 1) : 0;
      gauge.gauge.setAttribute("visibility", "visible");
      gauge.gauge.dataset.pressure = q.pressure_level || "low";
      gauge.bar.setAttribute("width", Math.max(gauge.width * frac, used ? 1 : 0));
      gauge.label.textContent = `${used}/${max || "∞"}`;
      gauge.name.textContent = clip(gauge.slot, gauge.room - gauge.label.textContent.length * 4.8 - 4, 5.8);
    }
  }

  const queueKey = (rid) => ((layout.nodes[rid] || {}).members || [rid])[0];

  function applyQueues() {
    const queues = model.get("queues") || {};
    for (const [rid, node] of nodes) if (node.g) styleQueues(node, queues[queueKey(rid)] || {});
    renderPanel();
  }

  function styleEdgeCount(edge, c) {
    edge.label.textContent = c === undefined ? "" : String(c);
    edge.g.classList.toggle("rnb-flowing", Boolean(c));
  }

  function applyEdgeCounts() {
    const counts = model.get("edge_counts") || {};
    for (const [id, edge] of edges) if (edge.g) styleEdgeCount(edge, counts[id]);
  }

  const placeOf = (rid) => groupOf.get(rid) || rid;
  const hasBreakpoint = (rid, active) => ((layout.nodes[rid] || {}).members || [rid]).some((m) => active.has(m));

  function applyBreakpoints() {
    const active = new Set(model.get("breakpoints") || []);
    for (const [rid, node] of nodes) if (node.g) node.g.classList.toggle("rnb-has-bp", hasBreakpoint(rid, active));
  }

  function applySelected() {
    const selected = placeOf(model.get("selected"));
    for (const [rid, node] of nodes) if (node.g) node.g.classList.toggle("rnb-selected", rid === selected);
    renderPanel();
  }

  function matches(text) {
    const needle = text.trim().toLowerCase();
    if (!needle) return null;
    const hits = [];
    for (const [rid, n] of Object.entries(layout.nodes)) {
      if (n.members) {
        for (const m of n.members) if (m.toLowerCase().includes(needle)) hits.push(m);
      } else if (rid.toLowerCase().includes(needle) || (n.class_name || "").toLowerCase().includes(needle)) {
        hits.push(rid);
      }
    }
    // Exact names first, then names that start with the text, then the rest.
    const rank = (rid) => (rid.toLowerCase() === needle ? 0 : rid.toLowerCase().startsWith(needle) ? 1 : 2);
    return hits.sort((a, b) => rank(a) - rank(b));
  }

  function styleMatch(rid, node) {
    node.g.classList.toggle("rnb-match", hitSet.has(rid));
    node.g.classList.toggle("rnb-neighbour", !hitSet.has(rid) && nearSet.has(rid));
  }

  function applyHighlight() {
    const text = model.get("highlight") || "";
    if (search.value !== text) search.value = text;
    const hits = matches(text);
    el.classList.toggle("rnb-searching", hits !== null);
    hitCount.textContent = hits === null ? "" : `${hits.length} match${hits.length === 1 ? "" : "es"}`;
    hitSet = new Set((hits || []).map(placeOf));
    nearSet = new Set();
    for (const { edge } of edges.values()) {
      if (hitSet.has(edge.source)) nearSet.add(edge.target);
      if (hitSet.has(edge.target)) nearSet.add(edge.source);
    }
    for (const [rid, node] of nodes) {
      node.mini.classList.toggle("rnb-match", hitSet.has(rid));
      if (node.g) styleMatch(rid, node);
    }
    for (const e of edges.values()) {
      if (e.g) e.g.classList.toggle("rnb-lit", hitSet.has(e.edge.source) || hitSet.has(e.edge.target));
    }
  }

  function panelRow(parent, key, value) {
    const row = html("div", "rnb-kv", parent);
    html("span", "rnb-k", row, key);
    html("span", "rnb-v", row, value);
  }

  function renderPanel() {
    const rid = model.get("selected");
    const info = (model.get("routines") || {})[rid];
    panel.replaceChildren();
    panel.classList.toggle("rnb-hidden", !info);
    if (!info) return;
    const head = html("div", "rnb-panel-head", panel);
    html("strong", "", head, rid);
    const close = html("button", "rnb-btn rnb-close", head, "×");
    close.addEventListener("click", () => select(""));
    const s = (model.get("status") || {})[rid] || {};
    panelRow(panel, "class", info.class_name);
    panelRow(panel, "status", s.status || "idle");
    panelRow(panel, "executions", String(s.execution_count ?? 0));
    panelRow(panel, "errors", String(s.error_count ?? 0));
    panelRow(panel, "active", String(s.active ?? 0));
    panelRow(panel, "avg duration", fmtDuration(s.avg_duration));
    const policy = info.activation_policy || {};
    panelRow(panel, "policy", policy.type || "–");
    if (policy.description) html("div", "rnb-note", panel, policy.description);
    const queues = (model.get("queues") || {})[rid] || {};
    for (const [slot, q] of Object.entries(queues)) {
      panelRow(panel, `queue ${slot}`, `${q.unconsumed_count ?? 0}/${q.max_length ?? "∞"} (${q.pressure_level || "low"})`);
    }
    html("div", "rnb-k", panel, "config");
    html("pre", "rnb-pre", panel, JSON.stringify(info.config || {}, null, 2));
  }

  function select(rid) {
    model.set("selected", rid);
    model.save_changes();
  }

  // Pointer handling: drag pans, a click (no movement) selects or toggles a breakpoint.
  // A press also arms the wheel for zooming until the pointer leaves the graph.
  let drag = null;
  function setArmed(on) {
    armed = on;
    el.classList.toggle("rnb-armed", on);
  }
  function onPointerDown(ev) {
    if (ev.button !== 0) return;
    setArmed(true);
    drag = { x: ev.clientX, y: ev.clientY, cam: { ...cam }, target: ev.target, moved: false };
    try {
      canvas.setPointerCapture(ev.pointerId);
    } catch (_err) {
      // synthetic or already released pointer: dragging still works without capture
    }
  }
  function onPointerMove(ev) {
    if (!drag) return;
    const dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    if (!drag.moved) return;
    setCam(drag.cam.cx - dx / drag.cam.s, drag.cam.cy - dy / drag.cam.s, drag.cam.s);
  }
  function onPointerUp(ev) {
    if (!drag) return;
    const { target, moved } = drag;
    drag = null;
    if (canvas.hasPointerCapture(ev.pointerId)) canvas.releasePointerCapture(ev.pointerId);
    if (moved) return;
    const toggle = target.closest && target.closest("[data-bp-toggle]");
    if (toggle) {
      model.send({ type: "toggle_breakpoint", routine_id: toggle.getAttribute("data-bp-toggle") });
      return;
    }
    const node = target.closest && target.closest(".rnb-node");
    const members = node && (layout.nodes[node.dataset.routineId] || {}).members;
    if (members) focus(members[0], cam.s);
    else select(node ? node.dataset.routineId : "");
  }
  function onWheel(ev) {
    if (!(ev.ctrlKey || ev.metaKey || armed)) {
      // Leave the event alone: the notebook scrolls. Say how to zoom instead.
      el.classList.add("rnb-hinting");
      clearTimeout(hintTimer);
      hintTimer = setTimeout(() => el.classList.remove("rnb-hinting"), HINT_MS);
      return;
    }
    ev.preventDefault();
    const [px, py] = toSvg(ev.clientX, ev.clientY);
    zoomAt(Math.exp(-ev.deltaY * 0.0015), px, py);
  }
  function onMiniPointer(ev) {
    if (ev.type === "pointerdown") {
      if (ev.button !== 0) return;
      try {
        mini.setPointerCapture(ev.pointerId);
      } catch (_err) {
        // dragging on the minimap still works without capture
      }
    } else if (!(ev.buttons & 1)) return;
    ev.stopPropagation();
    const r = mini.getBoundingClientRect();
    const b = bounds();
    setCam(-PAD + ((ev.clientX - r.left) / r.width) * b.w, -PAD + ((ev.clientY - r.top) / r.height) * b.h, cam.s);
  }
  function onSearchKey(ev) {
    if (ev.key === "Escape") {
      search.value = "";
      search.dispatchEvent(new Event("input"));
      return;
    }
    if (ev.key !== "Enter") return;
    const hits = matches(search.value);
    if (!hits || !hits.length) return;
    const i = (((ev.shiftKey ? searchIndex - 2 : searchIndex) % hits.length) + hits.length) % hits.length;
    searchIndex = i + 1;
    focus(hits[i], READ_SCALE);
    hitCount.textContent = `${i + 1} of ${hits.length}`;
  }
  canvas.addEventListener("pointerdown", onPointerDown);
  canvas.addEventListener("pointermove", onPointerMove);
  canvas.addEventListener("pointerup", onPointerUp);
  canvas.addEventListener("pointercancel", () => (drag = null));
  stage.addEventListener("pointerleave", () => setArmed(false));
  canvas.addEventListener("wheel", onWheel, { passive: false });
  mini.addEventListener("pointerdown", onMiniPointer);
  mini.addEventListener("pointermove", onMiniPointer);
  buttons.fit.addEventListener("click", fit);
  buttons.in.addEventListener("click", () => step(1));
  buttons.out.addEventListener("click", () => step(-1));
  search.addEventListener("input", () => {
    searchIndex = 0;
    model.set("highlight", search.value);
    model.save_changes();
  });
  search.addEventListener("keydown", onSearchKey);

  const resize = new ResizeObserver(() => {
    if (main.style.height && main.style.height !== autoHeight) userSized = true;
    followHeight();
    if (!viewInitialised) viewInitialised = fit();
    else setCam(cam.cx, cam.cy, cam.s);
  });
  resize.observe(canvas);
  resize.observe(main);

  const handlers = {
    "change:graph_layout": build,
    "change:flow_id": build,
    "change:routines": renderPanel,
    "change:status": applyStatus,
    "change:queues": applyQueues,
    "change:edge_counts": applyEdgeCounts,
    "change:breakpoints": applyBreakpoints,
    "change:selected": applySelected,
    "change:highlight": applyHighlight,
  };
  for (const [name, fn] of Object.entries(handlers)) model.on(name, fn);
  build();

  return () => {
    resize.disconnect();
    clearTimeout(hintTimer);
    for (const [name, fn] of Object.entries(handlers)) model.off(name, fn);
  };
}

export default { render };
