// "Fork from here": a button on a step (a trace row, the debugger's parked activation) opens
// an editor of the step's inputs and data as JSON; "Fork" starts a new job from that step.
// Bundled before the widget's own module (widgets/_fork.py): names here start with "fork".
//
// Clicks take the widgets' click path: sent on the comm with an id; without an ack within
// FORK_ACK_MS (a blocked kernel on a frontend without comm subshells) the same click is
// posted to the kernel's loopback click endpoint (the `_direct` trait). Python runs each id once.

const FORK_ACK_MS = 300;
const FORK_EVENTS = new Set(["routine_start", "routine_end"]);
const FORK_LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);
let forkClicks = 0;

function forkEl(tag, cls, parent, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

function forkPageBaseUrl() {
  const node = document.getElementById("jupyter-config-data");
  try {
    const base = node ? JSON.parse(node.textContent || "{}").baseUrl : null;
    return typeof base === "string" ? base.replace(/\/?$/, "/") : null;
  } catch (err) {
    return null; // no Jupyter page config: only the direct ways
  }
}

// Where this page may post a click: JupyterHub's proxy (same origin), the kernel's loopback
// port when the page itself is on this machine, then the Jupyter server's own proxy.
function forkDirectUrls(direct, where = globalThis.location) {
  if (!direct || !direct.port || !direct.token) return [];
  const urls = [];
  if (direct.proxy) urls.push(direct.proxy);
  if (where && (FORK_LOOPBACK.has(where.hostname) || where.protocol === "vscode-webview:")) {
    urls.push(`http://127.0.0.1:${direct.port}/routilux/click`);
  }
  const base = forkPageBaseUrl();
  if (base) urls.push(`${base}proxy/${direct.port}/routilux/click`);
  return [...new Set(urls)];
}

function forkSender(model, report) {
  const pending = new Map();

  function settle(id, text, phase) {
    const p = pending.get(id);
    if (!p) return;
    clearTimeout(p.timer);
    pending.delete(id);
    report(text, phase);
  }

  function onCustom(msg) {
    if (!msg || typeof msg.id !== "string" || !pending.has(msg.id)) return;
    if (msg.type === "ack") {
      pending.get(msg.id).acked = true;
      clearTimeout(pending.get(msg.id).timer);
    } else if (msg.type === "done") {
      settle(msg.id, null, "done"); // the editor's state trait says the outcome
    }
  }

  async function postDirect(id, content) {
    const p = pending.get(id);
    if (!p || p.acked) return;
    const direct = model.get("_direct") || {};
    for (const url of forkDirectUrls(direct)) {
      let answer;
      try {
        answer = await fetch(url, {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-Routilux-Token": direct.token },
          body: JSON.stringify({ model_id: direct.model_id, content }),
          credentials: "same-origin",
        });
      } catch (err) {
        continue;
      }
      const body = await answer.json().catch(() => ({}));
      if (!answer.ok) settle(id, `${p.label} failed: ${body.error || `HTTP ${answer.status}`}`, "failed");
      else settle(id, null, "done");
      return;
    }
    if (pending.has(id)) report(`${p.label}: the kernel is busy; it runs when the cell ends`, "queued");
  }

  function send(content, label) {
    const id = `fork-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}-${++forkClicks}`;
    const message = { ...content, id };
    const p = { label, acked: false, timer: null };
    pending.set(id, p);
    p.timer = setTimeout(() => postDirect(id, message), FORK_ACK_MS);
    model.send(message);
    report(`${label}…`, "sent");
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

// The JSON error of `text`, or "" when it parses.
function forkJsonError(text) {
  try {
    JSON.parse(text);
    return "";
  } catch (err) {
    return err.message;
  }
}

// The editor panel under `el`, with the buttons that open it. Returns
// {head(tr), cell(tr, row), button(parent, target, enabled), dispose()}.
function forkPanel(model, el) {
  const panel = forkEl("div", "rnb-fork", el);
  panel.hidden = true;
  const title = forkEl("div", "rnb-fork-title", panel);
  const fields = {};
  for (const [name, hint] of [
    ["inputs", "inputs: {slot: [items]}"],
    ["data", "data: the job's data"],
  ]) {
    const box = forkEl("label", "rnb-fork-field", panel);
    const caption = forkEl("span", "rnb-fork-caption", box, hint);
    const textarea = forkEl("textarea", "rnb-fork-json", box);
    textarea.dataset.fork = name;
    textarea.spellcheck = false;
    const error = forkEl("div", "rnb-fork-error", box);
    textarea.addEventListener("input", () => {
      textarea.dataset.dirty = "1";
      check();
    });
    fields[name] = { textarea, error, caption };
  }
  const bar = forkEl("div", "rnb-fork-bar", panel);
  const forkBtn = forkEl("button", "rnb-fork-btn rnb-fork-go", bar, "Fork");
  forkBtn.dataset.action = "fork";
  const cancel = forkEl("button", "rnb-fork-btn", bar, "Cancel");
  cancel.dataset.action = "fork-cancel";
  const status = forkEl("div", "rnb-fork-status", panel);
  status.setAttribute("role", "status");
  const openers = [];
  let shown = null; // [job_id, step] whose texts are in the editor

  function say(text, phase) {
    if (text === null) {
      const ed = model.get("fork_editor") || {}; // done: show the outcome Python recorded
      text = ed.message || "";
      phase = ed.phase || phase;
    }
    status.textContent = text;
    status.dataset.phase = phase;
    if (phase !== "sent") check(); // the click was handled: Fork may be clicked again
  }
  const sender = forkSender(model, say);

  function check() {
    let ok = true;
    for (const [name, f] of Object.entries(fields)) {
      const error = f.textarea.disabled ? "" : forkJsonError(f.textarea.value);
      f.error.textContent = error ? `Invalid JSON in ${name}: ${error}` : "";
      f.textarea.classList.toggle("rnb-fork-invalid", Boolean(error));
      ok = ok && !error;
    }
    forkBtn.disabled = !ok;
    return ok;
  }

  function applyEditor() {
    const ed = model.get("fork_editor") || {};
    panel.hidden = !ed.open;
    panel.dataset.phase = ed.phase || "";
    if (!ed.open) {
      shown = null;
      return;
    }
    const key = JSON.stringify([ed.job_id, ed.step]);
    if (ed.step === undefined || ed.step === null) {
      title.textContent = ed.job_id ? `Fork from job ${ed.job_id}` : "Fork";
      for (const f of Object.values(fields)) f.textarea.parentNode.hidden = true;
      forkBtn.hidden = true;
    } else {
      const seq = ed.seq === null || ed.seq === undefined ? "" : `, seq ${ed.seq}`;
      title.textContent = `Fork job ${ed.job_id} from step ${ed.step} (${ed.routine}${seq}, ${ed.status || "recorded"})`;
      forkBtn.hidden = false;
      fields.inputs.caption.textContent = `inputs: {slot: [items]}; slots of ${ed.routine}: ${(ed.slots || []).join(", ")}`;
      for (const [name, f] of Object.entries(fields)) {
        f.textarea.parentNode.hidden = false;
        const keep = shown === key && f.textarea.dataset.dirty;
        f.textarea.disabled = typeof ed[name] !== "string"; // too large: the recorded value
        f.textarea.placeholder = f.textarea.disabled ? "too large to edit here: the recorded value is used" : "";
        if (f.textarea.disabled) f.textarea.value = "";
        else if (!keep) {
          f.textarea.value = ed[name];
          f.textarea.rows = Math.min(Math.max(ed[name].split("\n").length, 2), 10);
        }
      }
      if (shown !== key && panel.scrollIntoView) panel.scrollIntoView({ block: "nearest" });
      shown = key;
      check();
    }
    say(ed.message || "", ed.phase || "");
  }

  function applyEnabled() {
    el.dataset.fork = model.get("fork_enabled") ? "on" : "off";
    for (const refresh of openers) refresh();
  }

  function open(target) {
    shown = null;
    for (const f of Object.values(fields)) f.textarea.dataset.dirty = "";
    sender.send({ type: "fork_open", ...target }, "open step");
  }

  forkBtn.addEventListener("click", () => {
    if (!check()) {
      say("Fix the JSON first: nothing was sent", "invalid");
      return;
    }
    const message = { type: "fork" };
    for (const [name, f] of Object.entries(fields)) if (!f.textarea.disabled) message[name] = f.textarea.value;
    sender.send(message, "fork");
    forkBtn.disabled = true; // one fork per click, until this one is answered
  });
  cancel.addEventListener("click", () => {
    panel.hidden = true;
    shown = null;
    model.send({ type: "fork_close" });
  });
  model.on("change:fork_editor", applyEditor);
  model.on("change:fork_enabled", applyEnabled);
  applyEditor();
  applyEnabled();

  return {
    head(tr) {
      tr.insertBefore(forkEl("th", "rnb-fork-cell", null, ""), tr.firstChild);
    },
    cell(tr, row) {
      // first in the row, so it stays in view however wide the table scrolls
      const td = tr.insertBefore(forkEl("td", "rnb-fork-cell"), tr.firstChild);
      if (!FORK_EVENTS.has(row.event_type) || !row.job_id || row.seq === null || row.seq === undefined) return;
      const b = forkEl("button", "rnb-fork-btn rnb-fork-open", td, "fork");
      b.title = "fork from here: edit this step's inputs and data, then start a new job from it";
      b.dataset.action = "fork-open";
      b.addEventListener("click", (event) => {
        event.stopPropagation();
        open({ job_id: row.job_id, seq: row.seq });
      });
    },
    button(parent, target, enabled) {
      const b = forkEl("button", "rnb-d-btn rnb-fork-open", parent, "Fork from here");
      b.dataset.action = "fork-open";
      b.title = "edit this activation's inputs and the job's data, then start a new job from here";
      const refresh = () => {
        b.disabled = !model.get("fork_enabled") || !enabled();
      };
      b.addEventListener("click", () => open(target()));
      openers.push(refresh);
      model.on("change:state", refresh);
      refresh();
      return b;
    },
    dispose() {
      sender.dispose();
      model.off("change:fork_editor", applyEditor);
      model.off("change:fork_enabled", applyEnabled);
      for (const refresh of openers) model.off("change:state", refresh);
    },
  };
}
