// QueueGauges view: one row per slot queue; rows are created once and updated in place.

function html(tag, cls, parent, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";
const SPARK_W = 90;
const SPARK_H = 18;

function sparkPoints(values) {
  if (!values || values.length < 2) return "";
  const max = Math.max(...values, 1);
  const step = SPARK_W / (values.length - 1);
  return values.map((v, i) => `${(i * step).toFixed(1)},${(SPARK_H - 1 - (v / max) * (SPARK_H - 2)).toFixed(1)}`).join(" ");
}

function render({ model, el }) {
  el.classList.add("rnb-queues");
  el.replaceChildren();
  const table = html("div", "rnb-q-table", el);
  const header = html("div", "rnb-q-row rnb-q-header", table);
  for (const text of ["slot", "queue", "used", "%", "last 30"]) html("span", "", header, text);
  const empty = html("div", "rnb-q-empty", el, "No queues yet.");
  const rows = new Map();

  function makeRow(key) {
    const row = html("div", "rnb-q-row");
    row.dataset.key = key;
    const name = html("span", "rnb-q-name", row, key);
    name.title = key;
    const track = html("span", "rnb-q-track", row);
    const bar = html("span", "rnb-q-bar", track);
    const used = html("span", "rnb-q-used", row);
    const pct = html("span", "rnb-q-pct", row);
    const spark = document.createElementNS(SVG_NS, "svg");
    spark.setAttribute("class", "rnb-q-spark");
    spark.setAttribute("width", SPARK_W);
    spark.setAttribute("height", SPARK_H);
    spark.setAttribute("viewBox", `0 0 ${SPARK_W} ${SPARK_H}`);
    const line = document.createElementNS(SVG_NS, "polyline");
    spark.appendChild(line);
    row.appendChild(spark);
    return { row, bar, used, pct, line };
  }

  function applyQueues() {
    const queues = model.get("queues") || {};
    const keys = [];
    for (const [rid, slots] of Object.entries(queues)) {
      for (const slot of Object.keys(slots)) keys.push([`${rid}.${slot}`, slots[slot]]);
    }
    keys.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const wanted = new Set(keys.map(([k]) => k));
    for (const [key, r] of rows) {
      if (!wanted.has(key)) {
        r.row.remove();
        rows.delete(key);
      }
    }
    for (const [key, q] of keys) {
      let r = rows.get(key);
      if (!r) {
        r = makeRow(key);
        rows.set(key, r);
      }
      table.appendChild(r.row); // keeps rows in key order
      const max = q.max_length || 0;
      const used = q.unconsumed_count || 0;
      const frac = max ? used / max : typeof q.usage_percentage === "number" ? q.usage_percentage : 0;
      r.row.dataset.pressure = q.pressure_level || "low";
      r.bar.style.width = `${Math.min(Math.max(frac, 0), 1) * 100}%`;
      r.used.textContent = `${used}/${max || "∞"}`;
      r.pct.textContent = `${(frac * 100).toFixed(frac < 0.1 ? 1 : 0)}%`;
    }
    empty.style.display = rows.size ? "none" : "";
    applyHistory();
  }

  function applyHistory() {
    const history = model.get("history") || {};
    for (const [key, r] of rows) r.line.setAttribute("points", sparkPoints(history[key]));
  }

  model.on("change:queues", applyQueues);
  model.on("change:history", applyHistory);
  applyQueues();
  return () => {
    model.off("change:queues", applyQueues);
    model.off("change:history", applyHistory);
  };
}

export default { render };
