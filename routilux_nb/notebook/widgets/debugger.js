// Debugger view: where the job stopped, its variables (payload editable), the DataFrames
// and arrays in the parked data as tables with editable cells, the call stack and the step
// controls. Every control carries a data-action attribute.
//
// A click is sent on the comm with an id. Python answers {type: "ack"} when it starts
// handling it and {type: "done", text} when finished. Without an ack within ACK_MS (the
// kernel is blocked and this frontend has no comm subshells) the same click is posted to
// the kernel's loopback click endpoint (the `_direct` trait); Python runs each id once.

const ACTIONS = [
  ["resume", "▶ Resume"],
  ["step_over", "⤼ Step over"],
  ["step_into", "⤵ Step into"],
  ["drop", "✕ Drop"],
];
const EDITABLE = new Set(["payload"]);
const ACK_MS = 300;
let clickCount = 0;

function html(tag, cls, parent, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

function describeLocation(loc) {
  if (!loc) return "";
  const where = [loc.kind || "routine", loc.routine_id || "?"];
  if (loc.slot_name) where.push(`slot ${loc.slot_name}`);
  if (loc.event_name) where.push(`event ${loc.event_name}`);
  if (loc.breakpoint_id) where.push(`breakpoint ${loc.breakpoint_id}`);
  return where.join(" · ");
}

function stateKey(state) {
  return JSON.stringify([state.job_id, state.status, state.location, state.variables, state.variables_json, state.frames]);
}

function cellText(value) {
  if (value === null || value === undefined) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

// The stop a click is made at; Python refuses the click if the job has moved on meanwhile.
function stopOf(state) {
  const loc = state.location || {};
  const at = { job_id: state.job_id || null };
  for (const key of ["kind", "routine_id", "slot_name", "event_name", "breakpoint_id"]) {
    at[key] = loc[key] === undefined ? null : loc[key];
  }
  return at;
}

// Where a click may be posted (fork_editor.js, bundled before this module, owns the rule).
export const directUrls = forkDirectUrls;

function clickSender(model, report) {
  const pending = new Map();

  function finish(id, text, via) {
    const p = pending.get(id);
    if (!p) return;
    clearTimeout(p.timer);
    pending.delete(id);
    report(text || `${p.label}: done`, via, "done");
  }

  function onCustom(msg) {
    if (!msg || typeof msg.id !== "string" || !pending.has(msg.id)) return;
    if (msg.type === "ack") {
      const p = pending.get(msg.id);
      p.acked = true;
      clearTimeout(p.timer);
    } else if (msg.type === "done") {
      finish(msg.id, msg.text, msg.via || "comm");
    }
  }

  async function postDirect(id, content) {
    const p = pending.get(id);
    if (!p || p.acked) return;
    const direct = model.get("_direct") || {};
    for (const url of directUrls(direct)) {
      let answer;
      try {
        answer = await fetch(url, {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-Routilux-Token": direct.token },
          body: JSON.stringify({ model_id: direct.model_id, content }),
          credentials: "same-origin",
        });
      } catch (err) {
        continue; // not reachable from this page: try the next way
      }
      const body = await answer.json().catch(() => ({}));
      if (!pending.has(id)) return;
      if (!answer.ok) {
        clearTimeout(p.timer);
        pending.delete(id);
        report(`${p.label} failed: ${body.error || `HTTP ${answer.status}`}`, "http", "error");
        return;
      }
      if (!body.duplicate) finish(id, body.text, "http");
      return;
    }
    if (pending.has(id)) report(`${p.label}: the kernel is busy; it runs when the cell ends`, "comm", "queued");
  }

  function send(content, label) {
    const id = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}-${++clickCount}`;
    const message = { ...content, id };
    const p = { label, acked: false, timer: null };
    pending.set(id, p);
    p.timer = setTimeout(() => postDirect(id, message), ACK_MS);
    model.send(message);
    report(`${label}…`, "", "sent");
    return id;
  }

  model.on("msg:custom", onCustom);
  return {
    send,
    dispose() {
      model.off("msg:custom", onCustom);
      for (const p of pending.values()) clearTimeout(p.timer);
      pending.clear();
    },
  };
}

function render({ model, el }) {
  el.classList.add("rnb-debugger");
  el.replaceChildren();
  const head = html("div", "rnb-d-head", el);
  const where = html("div", "rnb-d-where", head);
  const controls = html("div", "rnb-d-controls", el);
  const message = html("div", "rnb-d-message");
  message.setAttribute("role", "status");
  const sender = clickSender(model, (text, via, phase) => {
    message.textContent = text;
    message.dataset.phase = phase;
    if (via) message.dataset.via = via;
  });
  const buttons = ACTIONS.map(([action, label]) => {
    const b = html("button", `rnb-d-btn rnb-d-${action}`, controls, label);
    b.dataset.action = action;
    b.addEventListener("click", () =>
      sender.send({ type: "action", action, at: stopOf(model.get("state") || {}) }, action),
    );
    return b;
  });
  const fork = typeof forkPanel === "function" ? forkPanel(model, el) : null; // fork_editor.js
  if (fork) {
    const stateNow = () => model.get("state") || {};
    fork.button(
      controls,
      () => ({ job_id: stateNow().job_id, parked: true, at: stopOf(stateNow()) }),
      () => stateNow().status === "paused",
    );
  }
  const body = html("div", "rnb-d-body", el);
  const vars = html("div", "rnb-d-vars", body);
  const framesBox = html("div", "rnb-d-tables");
  const stackBox = html("div", "rnb-d-stack", body);
  el.insertBefore(framesBox, null);
  el.appendChild(message);
  let editors = new Map();
  let shownKey = null;
  let editingCell = null; // the <input> of a cell being edited: no redraw under the user's typing

  function editCell(td, frame, r, c) {
    if (editingCell || model.get("state").status !== "paused") return;
    const before = td.textContent;
    const input = html("input", "rnb-d-cell-input");
    input.value = before;
    input.dataset.dirty = "1";
    td.replaceChildren(input);
    editingCell = input;
    input.focus();
    input.select();
    let done = false;
    function close(commit) {
      if (done) return;
      done = true;
      editingCell = null;
      td.textContent = commit ? input.value : before;
      if (commit && input.value !== before) {
        td.classList.add("rnb-d-cell-sent");
        const at = stopOf(model.get("state") || {});
        const column = frame.columns[c];
        const content = { type: "set_cell", name: frame.name, row: r, column, text: input.value, at };
        sender.send(content, `set ${frame.name}[${r}, ${column}]`);
      }
      if (shownKey && shownKey.full !== stateKey(model.get("state") || {})) applyState();
    }
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") close(true);
      else if (e.key === "Escape") close(false);
    });
    input.addEventListener("blur", () => close(true));
  }

  function renderFrames(state, paused) {
    framesBox.replaceChildren();
    const frames = state.frames || [];
    if (!frames.length) return;
    html("div", "rnb-d-title", framesBox, "Tables");
    for (const frame of frames) {
      const box = html("div", "rnb-d-frame", framesBox);
      box.dataset.frame = frame.name;
      const shape = frame.shape || [];
      const more = shape[0] > frame.shown_rows ? ` · first ${frame.shown_rows} of ${shape[0]} rows` : "";
      const head = html("div", "rnb-d-var-head", box);
      html("code", "", head, frame.name);
      html("span", "rnb-d-muted", head, `${frame.summary}${more}`);
      const editable = paused && frame.editable !== false;
      if (editable) html("span", "rnb-d-muted", head, "double-click a cell to edit");
      const scroll = html("div", "rnb-d-frame-scroll", box);
      const table = html("table", "rnb-d-table", scroll);
      const hrow = html("tr", "", html("thead", "", table));
      html("th", "", hrow, "");
      (frame.columns || []).forEach((col, c) => {
        const th = html("th", "", hrow, cellText(col));
        th.title = (frame.column_dtypes || [])[c] || "";
      });
      const tbody = html("tbody", "", table);
      (frame.rows || []).forEach((values, r) => {
        const tr = html("tr", "", tbody);
        html("th", "", tr, cellText((frame.index || [])[r]));
        values.forEach((value, c) => {
          const td = html("td", "rnb-d-cell", tr, cellText(value));
          td.dataset.row = String(r);
          td.dataset.column = String(c);
          if (editable) td.addEventListener("dblclick", () => editCell(td, frame, r, c));
        });
      });
    }
  }

  function applyEdit(name, textarea, error) {
    try {
      JSON.parse(textarea.value); // checked here; sent as text so 499.0 stays a float
    } catch (err) {
      error.textContent = `Invalid JSON: ${err.message}`;
      textarea.classList.add("rnb-d-invalid");
      message.textContent = ""; // an earlier "set payload: done" no longer applies
      message.dataset.phase = "invalid";
      return;
    }
    error.textContent = "";
    textarea.classList.remove("rnb-d-invalid");
    textarea.dataset.dirty = "";
    const at = stopOf(model.get("state") || {});
    sender.send({ type: "set_variable", name, text: textarea.value, at }, `set ${name}`);
  }

  function renderVariables(state, paused) {
    vars.replaceChildren();
    editors = new Map();
    html("div", "rnb-d-title", vars, "Variables");
    const variables = state.variables || {};
    const texts = state.variables_json || {};
    for (const [name, value] of Object.entries(variables)) {
      const box = html("div", "rnb-d-var", vars);
      box.dataset.variable = name;
      const label = html("div", "rnb-d-var-head", box);
      html("code", "", label, name);
      const editable = EDITABLE.has(name);
      const textarea = html("textarea", "rnb-d-json", box);
      textarea.value =
        typeof texts[name] === "string" ? texts[name] : JSON.stringify(value === undefined ? null : value, null, 2);
      textarea.spellcheck = false;
      textarea.rows = Math.min(Math.max(textarea.value.split("\n").length, 2), 12);
      textarea.readOnly = !editable || !paused;
      const error = html("div", "rnb-d-error", box);
      if (editable) {
        const apply = html("button", "rnb-d-btn rnb-d-apply", label, "Apply edit");
        apply.dataset.action = "apply";
        apply.dataset.variable = name;
        apply.disabled = !paused;
        apply.addEventListener("click", () => applyEdit(name, textarea, error));
        textarea.addEventListener("input", () => {
          textarea.dataset.dirty = "1";
          error.textContent = "";
          textarea.classList.remove("rnb-d-invalid");
        });
      } else {
        html("span", "rnb-d-ro", label, "read-only");
      }
      editors.set(name, textarea);
    }
    if (!Object.keys(variables).length) html("div", "rnb-d-muted", vars, "No variables.");
  }

  function renderStack(state) {
    stackBox.replaceChildren();
    html("div", "rnb-d-title", stackBox, "Call stack");
    const frames = state.call_stack || [];
    const list = html("ol", "rnb-d-frames", stackBox);
    for (const f of frames) {
      const text = `${f.routine_id || "?"}.${f.event_name || "?"} → ${f.target_routine || "?"}.${f.target_slot || "?"}`;
      html("li", "", list, text);
    }
    if (!frames.length) html("div", "rnb-d-muted", stackBox, "Empty.");
  }

  function applyState() {
    const state = model.get("state") || {};
    const paused = state.status === "paused";
    el.dataset.status = state.status || "none";
    for (const b of buttons) b.disabled = !paused;
    if (!state.job_id) where.textContent = "No job selected.";
    else if (paused) where.textContent = `Job ${state.job_id} paused at ${describeLocation(state.location)}`;
    else where.textContent = `Job ${state.job_id} is ${state.status || "unknown"}.`;
    const key = stateKey(state);
    if (editingCell) return; // redrawn when the cell edit closes
    const dirty = [...editors.values()].some((t) => t.dataset.dirty);
    const sameStop = shownKey !== null && JSON.stringify([state.job_id, state.location]) === shownKey.stop;
    if (shownKey && shownKey.full === key) return;
    if (dirty && sameStop && paused) return; // keep the user's unsaved edit
    renderVariables(state, paused);
    renderFrames(state, paused);
    renderStack(state);
    shownKey = { full: key, stop: JSON.stringify([state.job_id, state.location]) };
  }

  function applyMessage() {
    message.textContent = model.get("message") || "";
    message.dataset.phase = "kernel";
  }

  model.on("change:state", applyState);
  model.on("change:message", applyMessage);
  applyState();
  applyMessage();
  return () => {
    sender.dispose();
    if (fork) fork.dispose();
    model.off("change:state", applyState);
    model.off("change:message", applyMessage);
  };
}

export default { render };
