// TraceTable view: keyed rows (one <tr> per trace event, reused across updates),
// two filter selects synced with Python, and a pause/follow toggle.

const COLUMNS = [
  ["seq", "seq"],
  ["timestamp", "time"],
  ["job_id", "job"],
  ["routine_id", "routine"],
  ["event_type", "event"],
  ["data", "data"],
  ["duration", "duration"],
  ["status", "status"],
];

function html(tag, cls, parent, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

function cellText(key, value) {
  if (value === null || value === undefined) return "";
  if (key === "timestamp") {
    const s = String(value);
    const t = s.indexOf("T");
    return t >= 0 ? s.slice(t + 1).replace(/(Z|[+-]\d\d:?\d\d)$/, "").slice(0, 12) : s;
  }
  if (key === "duration" && typeof value === "number") {
    return value < 1 ? `${(value * 1000).toFixed(2)} ms` : `${value.toFixed(3)} s`;
  }
  return String(value);
}

function rowKey(row, i) {
  return row.event_id || (row.seq !== null && row.seq !== undefined ? `seq:${row.seq}` : `i:${i}`);
}

function fillSelect(select, label, values, current) {
  const wanted = [...new Set(values.filter((v) => v))].sort();
  if (current && !wanted.includes(current)) wanted.unshift(current);
  const signature = wanted.join("\u0000");
  if (select.dataset.signature !== signature) {
    select.replaceChildren();
    html("option", "", select, `all ${label}`).value = "";
    for (const v of wanted) html("option", "", select, v).value = v;
    select.dataset.signature = signature;
  }
  select.value = current || "";
}

function render({ model, el }) {
  el.classList.add("rnb-trace");
  el.replaceChildren();
  const bar = html("div", "rnb-t-toolbar", el);
  const routineSelect = html("select", "rnb-t-filter", bar);
  routineSelect.dataset.filter = "routine";
  const typeSelect = html("select", "rnb-t-filter", bar);
  typeSelect.dataset.filter = "type";
  const followBtn = html("button", "rnb-t-follow", bar);
  followBtn.dataset.action = "follow";
  const summary = html("span", "rnb-t-summary", bar);
  const scroller = html("div", "rnb-t-scroll", el);
  const table = html("table", "rnb-t-table", scroller);
  const headRow = html("tr", "", html("thead", "", table));
  for (const [, label] of COLUMNS) html("th", "", headRow, label);
  const tbody = html("tbody", "", table);
  const fork = typeof forkPanel === "function" ? forkPanel(model, el) : null; // fork_editor.js
  if (fork) fork.head(headRow);
  let trs = new Map();
  let rows = []; // newest first; Python sends the whole list once, then only new rows

  function makeTr(row) {
    const tr = html("tr", "");
    for (const [key] of COLUMNS) {
      const td = html("td", `rnb-t-${key}`, tr, cellText(key, row[key]));
      if (key === "data" && row.data) td.title = row.data_details ? `${row.data}\n${row.data_details}` : row.data;
      if (key === "event_type" && row.detail) td.title = row.detail;
    }
    if (fork) fork.cell(tr, row);
    if (row.status) tr.dataset.status = String(row.status);
    tr.dataset.eventType = row.event_type || "";
    tr.dataset.routine = row.routine_id || "";
    return tr;
  }

  function applyFilters() {
    const routine = model.get("filter_routine") || "";
    const type = model.get("filter_type") || "";
    let shown = 0;
    for (const tr of trs.values()) {
      const visible = (!routine || tr.dataset.routine === routine) && (!type || tr.dataset.eventType === type);
      tr.hidden = !visible;
      shown += visible ? 1 : 0;
    }
    fillSelect(routineSelect, "routines", rows.map((r) => r.routine_id), routine);
    fillSelect(typeSelect, "events", rows.map((r) => r.event_type), type);
    summary.textContent = `${shown} of ${trs.size} rows (max ${model.get("max_rows")})`;
  }

  function applyRows() {
    const next = new Map();
    rows.forEach((row, i) => {
      const key = rowKey(row, i);
      next.set(key, trs.get(key) || makeTr(row));
    });
    for (const [key, tr] of trs) if (!next.has(key)) tr.remove();
    let previous = null;
    for (const tr of next.values()) {
      const expected = previous ? previous.nextSibling : tbody.firstChild;
      if (expected !== tr) tbody.insertBefore(tr, expected);
      previous = tr;
    }
    trs = next;
    applyFilters();
  }

  function applyFollow() {
    const follow = model.get("follow");
    const waiting = model.get("buffered") || 0;
    followBtn.textContent = follow ? "Pause" : `▶ Follow${waiting ? ` (${waiting} new)` : ""}`;
    followBtn.classList.toggle("rnb-t-paused", !follow);
    followBtn.setAttribute("aria-pressed", String(!follow));
  }

  function setTrait(name, value) {
    model.set(name, value);
    model.save_changes();
  }
  routineSelect.addEventListener("change", () => setTrait("filter_routine", routineSelect.value));
  typeSelect.addEventListener("change", () => setTrait("filter_type", typeSelect.value));
  followBtn.addEventListener("click", () => setTrait("follow", !model.get("follow")));

  function onMessage(msg) {
    if (!msg || msg.type !== "rows") return;
    const fresh = msg.rows || [];
    rows = msg.mode === "reset" ? fresh.slice() : fresh.concat(rows);
    rows = rows.slice(0, model.get("max_rows") || 200);
    applyRows();
  }

  const handlers = {
    "msg:custom": onMessage,
    "change:filter_routine": applyFilters,
    "change:filter_type": applyFilters,
    "change:max_rows": applyFilters,
    "change:follow": applyFollow,
    "change:buffered": applyFollow,
  };
  for (const [name, fn] of Object.entries(handlers)) model.on(name, fn);
  applyRows();
  applyFollow();
  model.send({ type: "request_rows" });
  return () => {
    for (const [name, fn] of Object.entries(handlers)) model.off(name, fn);
    if (fork) fork.dispose();
  };
}

export default { render };
