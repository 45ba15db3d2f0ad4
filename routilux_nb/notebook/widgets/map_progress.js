// MapProgress view: one bar (completed, failed, cancelled, not submitted, running segments)
// and a summary line; redrawn only when the state trait changes.

const SEGMENTS = ["completed", "failed", "cancelled", "not_submitted", "running", "paused"];
const ORDER = [...SEGMENTS, "pending"];

function html(tag, cls, parent, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

function fmtElapsed(seconds) {
  if (typeof seconds !== "number") return "";
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  return `${m}m ${String(Math.floor(seconds % 60)).padStart(2, "0")}s`;
}

export function summary(state) {
  const counts = state.counts || {};
  const parts = ORDER.filter((s) => counts[s]).map((s) => `${counts[s]} ${s.replace("_", " ")}`);
  const head = `${state.finished || 0}/${state.total || 0} finished`;
  return parts.length ? `${head}: ${parts.join(", ")}` : head;
}

function render({ model, el }) {
  el.classList.add("rnb-map");
  el.replaceChildren();
  const title = html("div", "rnb-m-title", el);
  const bar = html("div", "rnb-m-bar", el);
  const line = html("div", "rnb-m-line", el);
  const text = html("span", "rnb-m-text", line);
  const elapsed = html("span", "rnb-m-elapsed", line);

  function apply() {
    const state = model.get("state") || {};
    const total = Math.max(state.total || 0, 1);
    const counts = state.counts || {};
    title.textContent = state.map_id ? `Map ${state.map_id} of flow ${state.flow_id}` : "Map";
    el.dataset.done = state.done ? "true" : "false";
    bar.replaceChildren();
    for (const status of SEGMENTS) {
      if (!counts[status]) continue;
      const seg = html("div", "rnb-m-seg", bar);
      seg.dataset.status = status;
      seg.style.width = `${(100 * counts[status]) / total}%`;
      seg.title = `${status}: ${counts[status]}`;
    }
    text.textContent = summary(state);
    elapsed.textContent = fmtElapsed(state.elapsed);
  }

  model.on("change:state", apply);
  apply();
  return () => model.off("change:state", apply);
}

export default { render };
