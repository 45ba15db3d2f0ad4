// JobProgress view: one line per job, newest first; lines are keyed by job id and
// only rewritten when that job's summary changed.

const ID_CHARS = 17;

// Short labels that still tell the shown ids apart. A long id keeps its kind prefix
// ("job-") and its end, where an auto id's counter is (job-3fb9fb4000000001 shows as
// "job-…fb4000000001"); if two ends collide, the starts are shown; the full id is the
// tooltip.
export function idLabels(ids, width = ID_CHARS) {
  const head = (id) => {
    const m = /^[A-Za-z]{1,5}[-_.]/.exec(id);
    return m ? m[0] : "";
  };
  const styles = [
    (id) => `${head(id)}…${id.slice(-(width - head(id).length - 1))}`,
    (id) => `${id.slice(0, width - 1)}…`,
    (id) => id,
  ];
  for (const style of styles) {
    const labels = new Map(ids.map((id) => [id, id.length <= width ? id : style(id)]));
    if (new Set(labels.values()).size === labels.size) return labels;
  }
  return new Map(ids.map((id) => [id, id]));
}

function html(tag, cls, parent, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

function fmtElapsed(seconds) {
  if (typeof seconds !== "number") return "–";
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
  const m = Math.floor(seconds / 60);
  const s = Math.floor(seconds % 60);
  return m < 60 ? `${m}m ${String(s).padStart(2, "0")}s` : `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
}

function fillLine(line, id, job, label) {
  line.replaceChildren();
  line.dataset.status = job.status || "pending";
  html("code", "rnb-j-id", line, label).title = id;
  html("span", "rnb-j-badge", line, job.status || "pending");
  html("span", "rnb-j-elapsed", line, fmtElapsed(job.elapsed));
  const chips = html("span", "rnb-j-chips", line);
  for (const [rid, count] of Object.entries(job.routine_counts || {})) {
    html("span", "rnb-j-chip", chips, `${rid} ×${count}`);
  }
  if (job.error) {
    const err = html("span", "rnb-j-error", line, String(job.error));
    err.title = String(job.error);
  }
  if (job.forked_from) forkLineage(line, job);
}

// "↳ forked from <origin> at step <n>" on a fork's line; the origin's id is a link to its
// line (scrolled to and flashed when it is still listed).
function forkLineage(line, job) {
  const origin = String(job.forked_from);
  const box = html("span", "rnb-j-fork", line, "↳ forked from ");
  const link = html("a", "rnb-j-origin", box, origin);
  link.href = "#";
  link.dataset.jobLink = origin;
  link.title = `job ${origin}: show its line`;
  const step = job.forked_step === null || job.forked_step === undefined ? "" : ` at step ${job.forked_step}`;
  box.appendChild(document.createTextNode(step));
  link.addEventListener("click", (event) => {
    event.preventDefault();
    const list = line.parentNode;
    const target = list ? [...list.children].find((n) => n.dataset.jobId === origin) : null;
    if (!target) {
      link.title = `job ${origin} is no longer listed`;
      return;
    }
    target.scrollIntoView({ block: "nearest" });
    target.classList.remove("rnb-j-flash");
    void target.offsetWidth; // restart the flash
    target.classList.add("rnb-j-flash");
  });
}

function render({ model, el }) {
  el.classList.add("rnb-jobs");
  el.replaceChildren();
  const list = html("div", "rnb-j-list", el);
  const empty = html("div", "rnb-j-empty", el, "No jobs yet.");
  let lines = new Map();

  function applyJobs() {
    const jobs = model.get("jobs") || {};
    const ids = Object.keys(jobs).sort((a, b) => {
      const ca = jobs[a].created_at || "", cb = jobs[b].created_at || "";
      return ca < cb ? 1 : ca > cb ? -1 : 0;
    });
    const labels = idLabels(ids);
    const next = new Map();
    for (const id of ids) {
      const signature = JSON.stringify([labels.get(id), jobs[id]]);
      let entry = lines.get(id);
      if (!entry) entry = { line: html("div", "rnb-j-line"), signature: null };
      entry.line.dataset.jobId = id;
      if (entry.signature !== signature) {
        fillLine(entry.line, id, jobs[id], labels.get(id));
        entry.signature = signature;
      }
      next.set(id, entry);
    }
    for (const [id, entry] of lines) if (!next.has(id)) entry.line.remove();
    let previous = null;
    for (const { line } of next.values()) {
      const expected = previous ? previous.nextSibling : list.firstChild;
      if (expected !== line) list.insertBefore(line, expected);
      previous = line;
    }
    lines = next;
    empty.style.display = lines.size ? "none" : "";
    applySelected();
  }

  // a click selects a job (the dashboard shows its artifacts)
  function onClick(event) {
    const line = event.target.closest(".rnb-j-line");
    if (line) model.send({ type: "select", job_id: line.dataset.jobId });
  }
  function applySelected() {
    const selected = model.get("selected");
    for (const [id, { line }] of lines) line.classList.toggle("rnb-j-selected", id === selected);
  }
  list.addEventListener("click", onClick);
  model.on("change:jobs", applyJobs);
  model.on("change:selected", applySelected);
  applyJobs();
  return () => {
    list.removeEventListener("click", onClick);
    model.off("change:jobs", applyJobs);
    model.off("change:selected", applySelected);
  };
}

export default { render };
