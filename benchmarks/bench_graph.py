"""Time to first draw and input latency of the FlowGraph view in a real browser.

The widget's own JavaScript and CSS (the files the package ships) run in Debian's
Chromium (``/usr/bin/chromium`` through Playwright) against a small in-page model with
the same ``get``/``set``/``on`` contract as an anywidget model, so the figures are the
view's own cost, without JupyterLab or a kernel. Flows of 50, 200 and 1,000 routines,
each routine fed by one of the 12 before it.

For each size it prints (milliseconds, medians over ``REPEATS`` runs):

* ``boxes``: boxes drawn (long chains are collapsed into summary boxes);
* ``layout_ms``: chain collapsing and the layered layout in Python (what ``FlowGraph`` sends);
* ``first_draw_ms``: ``render()`` called until the next frame has been painted;
* ``zoom_in_ms`` / ``fit_ms``: a click on "+" / "Fit" until the next frame;
* ``search_key_ms``: one keystroke in the search box (highlight restyle) until the next frame;
* ``search_enter_ms``: Enter in the search box (zoom to the match) until the next frame;
* ``static_kb``: size of the flow's static HTML repr (``Flow._repr_html_()``), in KB.

Run ``python benchmarks/bench_graph.py [sizes...]``; ``main()`` returns the figures.
Set ``ROUTILUX_NB_CHROMIUM`` to use another Chromium binary.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import routilux_nb as rx
from routilux_nb.notebook.chains import collapse_chains
from routilux_nb.notebook.layout import layered_layout
from routilux_nb.notebook.widgets import flow_graph as fg

SIZES = (50, 200, 1000)
REPEATS = 7
CHROMIUM = os.environ.get("ROUTILUX_NB_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

HARNESS = """
window.makeModel = (state) => {
  const handlers = {};
  return {
    get: (k) => state[k],
    set: (k, v) => { state[k] = v; for (const f of handlers["change:" + k] || []) f(); },
    save_changes() {},
    send() {},
    on(name, f) { (handlers[name] = handlers[name] || []).push(f); },
    off(name, f) { handlers[name] = (handlers[name] || []).filter((g) => g !== f); },
  };
};
window.nextFrame = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
window.mount = async (state) => {
  const host = document.getElementById("host");
  host.replaceChildren();
  const el = document.createElement("div");
  host.appendChild(el);
  const model = makeModel(state);
  const t0 = performance.now();
  window.rnbRender({ model, el });
  await nextFrame();
  window.current = { el, model };
  return performance.now() - t0;
};
window.timed = async (action) => {
  const { el } = window.current;
  const t0 = performance.now();
  action(el);
  await nextFrame();
  return performance.now() - t0;
};
"""


def chain_flow(n: int, seed: int = 7) -> dict[str, Any]:
    """``n`` routines ``r0..``; each one after the first is fed by one of the 12 before it."""
    rng = random.Random(seed)
    routines = {
        f"r{i}": {"class_name": "Step", "slots": ["input"], "events": ["output"]} for i in range(n)
    }
    connections = []
    for i in range(1, n):
        j = rng.randint(max(0, i - 12), i - 1)
        connections.append(
            {
                "connection_id": f"c{i}",
                "source_routine": f"r{j}",
                "source_event": "output",
                "target_routine": f"r{i}",
                "target_slot": "input",
            }
        )
    return {"flow_id": f"chain{n}", "routines": routines, "connections": connections}


def static_kb(flow_dict: dict[str, Any]) -> float:
    """Size of the static HTML repr of the same flow built with the public API."""
    flow = rx.Flow(flow_dict["flow_id"])

    def step(input: Any, ctx: Any) -> None:
        ctx.emit("output", n=len(input))

    for rid in flow_dict["routines"]:
        flow.routine(step, routine_id=rid, slots=["input"], events=["output"])
    for c in flow_dict["connections"]:
        flow.connect(f"{c['source_routine']}.output", f"{c['target_routine']}.input")
    return round(len(flow._repr_html_().encode()) / 1000, 1)


def page_html() -> str:
    js = (Path(fg.__file__).parent / "flow_graph.js").read_text()
    css = (Path(fg.__file__).parent / "flow_graph.css").read_text()
    js = js.replace("export default { render };", "window.rnbRender = render;")
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<style>body{{margin:20px;font-family:sans-serif}}{css}</style></head>"
        "<body><div id='host' style='width:1000px'></div>"
        f"<script>{HARNESS}</script><script type='module'>{js}</script></body></html>"
    )


def widget_state(flow: dict[str, Any]) -> dict[str, Any]:
    graph = fg.FlowGraph(flow)
    return {
        "flow_id": graph.flow_id,
        "graph_layout": graph.graph_layout,
        "routines": graph.routines,
        "status": {},
        "queues": {},
        "edge_counts": {},
        "breakpoints": [],
        "selected": "",
        "highlight": "",
    }


CLICK_IN = "el => el.querySelector('[data-zoom=in]').click()"
CLICK_OUT = "el => el.querySelector('[data-zoom=out]').click()"
CLICK_FIT = "el => el.querySelector('[data-zoom=fit]').click()"


def _type(text: str) -> str:
    return (
        "el => { const s = el.querySelector('.rnb-search'); "
        f"s.value = {json.dumps(text)}; s.dispatchEvent(new Event('input')); }}"
    )


ENTER = (
    "el => el.querySelector('.rnb-search')"
    ".dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter'}))"
)


def measure(page: Any, n: int) -> dict[str, float]:
    flow = chain_flow(n)
    layout_times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        layered_layout(collapse_chains(flow))
        layout_times.append((time.perf_counter() - t0) * 1000)
    state = widget_state(flow)
    draws, zoom_in, fit, key, enter = [], [], [], [], []
    for _ in range(REPEATS):
        draws.append(page.evaluate("s => mount(s)", state))
        for _ in range(3):
            zoom_in.append(page.evaluate(f"() => timed({CLICK_IN})"))
            page.evaluate(f"() => timed({CLICK_OUT})")
        fit.append(page.evaluate(f"() => timed({CLICK_FIT})"))
        for text in ("r", f"r{n // 2}"):
            key.append(page.evaluate(f"() => timed({_type(text)})"))
        enter.append(page.evaluate(f"() => timed({ENTER})"))
        page.evaluate(f"() => timed({_type('')})")
    med = statistics.median
    return {
        "routines": n,
        "boxes": len(state["graph_layout"]["nodes"]),
        "layout_ms": round(med(layout_times), 1),
        "first_draw_ms": round(med(draws), 1),
        "zoom_in_ms": round(med(zoom_in), 1),
        "fit_ms": round(med(fit), 1),
        "search_key_ms": round(med(key), 1),
        "search_enter_ms": round(med(enter), 1),
        "static_kb": static_kb(flow),
    }


def main(sizes: tuple[int, ...] = SIZES) -> list[dict[str, float]]:
    from playwright.sync_api import sync_playwright

    rows = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.set_content(page_html())
            page.wait_for_function("() => typeof window.rnbRender === 'function'")
            page.evaluate("s => mount(s)", widget_state(chain_flow(20)))  # warm up the JIT
            for n in sizes:
                rows.append(measure(page, n))
        finally:
            browser.close()
    keys = list(rows[0])
    print(f"FlowGraph in Chromium (ms, medians of {REPEATS} runs)")
    print(" ".join(f"{k:>15}" for k in keys))
    for row in rows:
        print(" ".join(f"{row[k]:>15}" for k in keys))
    return rows


if __name__ == "__main__":
    main(tuple(int(a) for a in sys.argv[1:]) or SIZES)
