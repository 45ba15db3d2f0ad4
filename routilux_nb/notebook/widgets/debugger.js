// Debugger view: where the job stopped, its variables (payload editable), the call
// stack and the step controls. Every control carries a data-action attribute.

const ACTIONS = [
  ["resume", "▶ Resume"],
  ["step_over", "⤼ Step over"],
  ["step_into", "⤵ Step into"],
  ["drop", "✕ Drop"],
];
const EDITABLE = new Set(["payload"]);

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
  return JSON.stringify([state.job_id, state.status, state.location, state.variables]);
}

function render({ model, el }) {
  el.classList.add("rnb-debugger");
  el.replaceChildren();
  const head = html("div", "rnb-d-head", el);
  const where = html("div", "rnb-d-where", head);
  const controls = html("div", "rnb-d-controls", el);
  const buttons = ACTIONS.map(([action, label]) => {
    const b = html("button", `rnb-d-btn rnb-d-${action}`, controls, label);
    b.dataset.action = action;
    b.addEventListener("click", () => model.send({ type: "action", action }));
    return b;
  });
  const body = html("div", "rnb-d-body", el);
  const vars = html("div", "rnb-d-vars", body);
  const stackBox = html("div", "rnb-d-stack", body);
  const message = html("div", "rnb-d-message", el);
  message.setAttribute("role", "status");
  let editors = new Map();
  let shownKey = null;

  function applyEdit(name, textarea, error) {
    let value;
    try {
      value = JSON.parse(textarea.value);
    } catch (err) {
      error.textContent = `Invalid JSON: ${err.message}`;
      textarea.classList.add("rnb-d-invalid");
      return;
    }
    error.textContent = "";
    textarea.classList.remove("rnb-d-invalid");
    textarea.dataset.dirty = "";
    model.send({ type: "set_variable", name, value });
  }

  function renderVariables(state, paused) {
    vars.replaceChildren();
    editors = new Map();
    html("div", "rnb-d-title", vars, "Variables");
    const variables = state.variables || {};
    for (const [name, value] of Object.entries(variables)) {
      const box = html("div", "rnb-d-var", vars);
      box.dataset.variable = name;
      const label = html("div", "rnb-d-var-head", box);
      html("code", "", label, name);
      const editable = EDITABLE.has(name);
      const textarea = html("textarea", "rnb-d-json", box);
      textarea.value = JSON.stringify(value === undefined ? null : value, null, 2);
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
    const dirty = [...editors.values()].some((t) => t.dataset.dirty);
    const sameStop = shownKey !== null && JSON.stringify([state.job_id, state.location]) === shownKey.stop;
    if (shownKey && shownKey.full === key) return;
    if (dirty && sameStop && paused) return; // keep the user's unsaved edit
    renderVariables(state, paused);
    renderStack(state);
    shownKey = { full: key, stop: JSON.stringify([state.job_id, state.location]) };
  }

  function applyMessage() {
    message.textContent = model.get("message") || "";
  }

  model.on("change:state", applyState);
  model.on("change:message", applyMessage);
  applyState();
  applyMessage();
  return () => {
    model.off("change:state", applyState);
    model.off("change:message", applyMessage);
  };
}

export default { render };
