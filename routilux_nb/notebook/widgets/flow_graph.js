// FlowGraph view: one SVG for the whole flow.
// The geometry is built once per `graph_layout`; status, queues, edge counts,
// breakpoints, selection and search only restyle existing elements.

const NS = "http://www.w3.org/2000/svg";
const PORT_Y0 = 40;
const PORT_DY = 18;
const FAR_SCALE = 0.45;
const MIN_READABLE_SCALE = 0.5;

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
  svg("title", {}, g).textContent = `${rid} (${n.class_name})`;
  svg("rect", { class: "rnb-box", width: n.w, height: n.h, rx: 6 }, g);
  svg("rect", { class: "rnb-strip", width: n.w, height: 4, rx: 2 }, g);
  svg("text", { class: "rnb-title", x: 10, y: 18 }, g).textContent = clip(rid, n.w - 40);
  svg("text", { class: "rnb-class", x: 10, y: 33 }, g).textContent = clip(n.class_name, n.w / 2, 6);
  const counts = svg("text", { class: "rnb-counts", x: n.w - 8, y: 33, "text-anchor": "end" }, g);
  const bp = svg("circle", { class: "rnb-bp", cx: n.w - 12, cy: 14, r: 5, "data-bp-toggle": rid }, g);
  svg("title", {}, bp).textContent = "toggle breakpoint";
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
  return { g, counts, gauges };
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
  search.placeholder = "Search routines…";
  search.value = model.get("highlight") || "";
  const buttons = {};
  for (const [name, text] of [["fit", "Fit"], ["in", "+"], ["out", "−"]]) {
    buttons[name] = html("button", "rnb-btn", toolbar, text);
    buttons[name].dataset.zoom = name;
  }
  const title = html("span", "rnb-flow-title", toolbar);
  const main = html("div", "rnb-main", el);
  const canvas = svg("svg", { class: "rnb-canvas" }, main);
  const edgeLayer = svg("g", { class: "rnb-edges" }, canvas);
  const nodeLayer = svg("g", { class: "rnb-nodes" }, canvas);
  const panel = html("div", "rnb-panel", main);

  let nodes = new Map();
  let edges = new Map();
  let layout = { nodes: {}, edges: [], width: 0, height: 0 };
  let view = { x: 0, y: 0, w: 1, h: 1 };
  let viewInitialised = false;

  function setView(v) {
    view = v;
    canvas.setAttribute("viewBox", `${v.x} ${v.y} ${v.w} ${v.h}`);
    const scale = canvas.clientWidth ? canvas.clientWidth / v.w : 1;
    el.classList.toggle("rnb-far", scale < FAR_SCALE);
  }

  function fit(readable) {
    const cw = canvas.clientWidth, ch = canvas.clientHeight;
    if (!cw || !ch) return false;
    const pad = 10;
    const w = Math.max(layout.width, 1) + 2 * pad, h = Math.max(layout.height, 1) + 2 * pad;
    let scale = Math.min(cw / w, ch / h, 1.5);
    if (readable && scale < MIN_READABLE_SCALE) {
      scale = MIN_READABLE_SCALE;
      setView({ x: -pad, y: h / 2 - ch / scale / 2, w: cw / scale, h: ch / scale });
    } else {
      setView({ x: (w - cw / scale) / 2 - pad, y: (h - ch / scale) / 2 - pad, w: cw / scale, h: ch / scale });
    }
    return true;
  }

  function zoomAt(factor, px, py) {
    const cw = canvas.clientWidth || 1;
    const scale = cw / (view.w * factor);
    if (scale < 0.05 || scale > 6) return;
    setView({ x: px - (px - view.x) * factor, y: py - (py - view.y) * factor, w: view.w * factor, h: view.h * factor });
  }

  function toSvg(clientX, clientY) {
    const ctm = canvas.getScreenCTM();
    if (!ctm) return [view.x + view.w / 2, view.y + view.h / 2];
    const p = new DOMPoint(clientX, clientY).matrixTransform(ctm.inverse());
    return [p.x, p.y];
  }

  function centerOn(rid) {
    const n = layout.nodes[rid];
    if (!n) return;
    setView({ ...view, x: n.x + n.w / 2 - view.w / 2, y: n.y + n.h / 2 - view.h / 2 });
  }

  function build() {
    layout = model.get("graph_layout") || { nodes: {}, edges: [] };
    edgeLayer.replaceChildren();
    nodeLayer.replaceChildren();
    edges = new Map(layout.edges.map((e) => [e.id, { ...buildEdge(e, edgeLayer), edge: e }]));
    nodes = new Map(Object.entries(layout.nodes).map(([rid, n]) => [rid, buildNode(rid, n, nodeLayer)]));
    const count = nodes.size;
    title.textContent = `${model.get("flow_id") || ""} · ${count} routine${count === 1 ? "" : "s"}`;
    viewInitialised = fit(true);
    applyStatus();
    applyQueues();
    applyEdgeCounts();
    applyBreakpoints();
    applyHighlight();
    applySelected();
  }

  function applyStatus() {
    const status = model.get("status") || {};
    for (const [rid, node] of nodes) {
      const s = status[rid] || {};
      node.g.dataset.status = s.status || "idle";
      const parts = [];
      if (s.active) parts.push(`▶${s.active}`);
      if (s.execution_count !== undefined) parts.push(`×${s.execution_count}`);
      if (s.error_count) parts.push(`⚠${s.error_count}`);
      node.counts.textContent = parts.join(" ");
    }
    renderPanel();
  }

  function applyQueues() {
    const queues = model.get("queues") || {};
    for (const [rid, node] of nodes) {
      const slots = queues[rid] || {};
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
    renderPanel();
  }

  function applyEdgeCounts() {
    const counts = model.get("edge_counts") || {};
    for (const [id, edge] of edges) {
      const c = counts[id];
      edge.label.textContent = c === undefined ? "" : String(c);
      edge.g.classList.toggle("rnb-flowing", Boolean(c));
    }
  }

  function applyBreakpoints() {
    const active = new Set(model.get("breakpoints") || []);
    for (const [rid, node] of nodes) node.g.classList.toggle("rnb-has-bp", active.has(rid));
  }

  function applySelected() {
    const selected = model.get("selected");
    for (const [rid, node] of nodes) node.g.classList.toggle("rnb-selected", rid === selected);
    renderPanel();
  }

  function matches(text) {
    const needle = text.trim().toLowerCase();
    if (!needle) return null;
    const hits = [];
    for (const [rid, n] of Object.entries(layout.nodes)) {
      if (rid.toLowerCase().includes(needle) || (n.class_name || "").toLowerCase().includes(needle)) hits.push(rid);
    }
    return hits;
  }

  function applyHighlight() {
    const text = model.get("highlight") || "";
    if (search.value !== text) search.value = text;
    const hits = matches(text);
    el.classList.toggle("rnb-searching", hits !== null);
    const hitSet = new Set(hits || []);
    const near = new Set();
    for (const { edge } of edges.values()) {
      if (hitSet.has(edge.source)) near.add(edge.target);
      if (hitSet.has(edge.target)) near.add(edge.source);
    }
    for (const [rid, node] of nodes) {
      node.g.classList.toggle("rnb-match", hitSet.has(rid));
      node.g.classList.toggle("rnb-neighbour", !hitSet.has(rid) && near.has(rid));
    }
    for (const e of edges.values()) {
      const lit = hitSet.has(e.edge.source) || hitSet.has(e.edge.target);
      e.g.classList.toggle("rnb-lit", lit);
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
  let drag = null;
  function onPointerDown(ev) {
    if (ev.button !== 0) return;
    drag = { x: ev.clientX, y: ev.clientY, view: { ...view }, target: ev.target, moved: false };
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
    const ctm = canvas.getScreenCTM();
    const scale = ctm ? ctm.a : 1;
    setView({ ...drag.view, x: drag.view.x - dx / scale, y: drag.view.y - dy / scale });
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
    select(node ? node.dataset.routineId : "");
  }
  function onWheel(ev) {
    ev.preventDefault();
    const [px, py] = toSvg(ev.clientX, ev.clientY);
    zoomAt(Math.exp(ev.deltaY * 0.0015), px, py);
  }
  canvas.addEventListener("pointerdown", onPointerDown);
  canvas.addEventListener("pointermove", onPointerMove);
  canvas.addEventListener("pointerup", onPointerUp);
  canvas.addEventListener("pointercancel", () => (drag = null));
  canvas.addEventListener("wheel", onWheel, { passive: false });
  buttons.fit.addEventListener("click", () => fit(false));
  buttons.in.addEventListener("click", () => zoomAt(1 / 1.25, view.x + view.w / 2, view.y + view.h / 2));
  buttons.out.addEventListener("click", () => zoomAt(1.25, view.x + view.w / 2, view.y + view.h / 2));
  search.addEventListener("input", () => {
    model.set("highlight", search.value);
    model.save_changes();
  });
  search.addEventListener("keydown", (ev) => {
    if (ev.key !== "Enter") return;
    const hits = matches(search.value);
    if (hits && hits.length) centerOn(hits[0]);
  });

  const resize = new ResizeObserver(() => {
    if (!viewInitialised) viewInitialised = fit(true);
    else setView({ ...view, h: view.w * (canvas.clientHeight / Math.max(canvas.clientWidth, 1)) });
  });
  resize.observe(canvas);

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
    for (const [name, fn] of Object.entries(handlers)) model.off(name, fn);
  };
}

export default { render };
