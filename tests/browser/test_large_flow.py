"""A 200-routine flow in a real JupyterLab: the live graph and the static picture stay readable.

Each routine is fed by one of the 12 before it (29 layers, about 14 routines per layer).
Checked in Chromium, measuring what is on screen:

* after Fit, the routine names in view are at least 9 px tall (``getBoundingClientRect``
  of the label elements), and the drawing fills the canvas's height;
* "+" steps to a larger scale; search + Enter zooms to a readable scale and centres the match;
* long chains are summary boxes that expand on click, or when search goes to a member;
* the mouse wheel over the graph scrolls the notebook (the graph keeps its scale);
  with Ctrl held it zooms the graph instead;
* the static HTML repr shows the whole flow's names at 9 px or more in a scrolling box.

Screenshots: ``test-artifacts/large-flow-*.png``.
"""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import ARTIFACTS_DIR, open_notebook, save_screenshot, write_notebook

pytestmark = pytest.mark.browser

FLOW = """import random
import routilux_nb as rx

rng = random.Random(7)
flow = rx.Flow("big")

def step(input, ctx):
    ctx.emit("output", n=len(input))

for i in range(200):
    flow.routine(step, routine_id=f"r{i}", slots=["input"], events=["output"])
for i in range(1, 200):
    flow.connect(f"r{rng.randint(max(0, i - 12), i - 1)}.output", f"r{i}.input")
rt = rx.runtime()
worker = rt.start(flow)
jobs = [worker.submit("r0", "input", {"k": k}) for k in range(5)]
for job in jobs:
    job.wait(30)
flow"""
GRAPH = "graph = rx.flow_graph(worker)\ngraph"
FILLER = "for i in range(120):\n    print('line', i)"

# Label elements of the nodes that are on screen inside the canvas, with their heights.
VISIBLE_LABELS = """root => {
  const canvas = root.querySelector('.rnb-canvas').getBoundingClientRect();
  const out = [];
  for (const t of root.querySelectorAll('.rnb-node text.rnb-title, .rnb-node text.rnb-name')) {
    const r = t.getBoundingClientRect();
    if (!r.width || !r.height) continue;  // not displayed at this zoom
    const cx = r.left + r.width / 2, cy = r.top + r.height / 2;
    if (cx < canvas.left || cx > canvas.right || cy < canvas.top || cy > canvas.bottom) continue;
    out.push({ id: t.closest('.rnb-node').dataset.routineId, text: t.textContent, h: r.height });
  }
  return out;
}"""

# The flow's height drawn at the current scale, as a fraction of the canvas height
# (the minimap's viewBox is the flow's bounds).
FILLED_HEIGHT = """root => {
  const flowHeight = root.querySelector('.rnb-minimap').viewBox.baseVal.height;
  return flowHeight * Number(root.dataset.scale) / root.querySelector('.rnb-canvas').clientHeight;
}"""

SCROLLER = """root => {
  for (let n = root.parentElement; n; n = n.parentElement) {
    const s = getComputedStyle(n);
    if (/(auto|scroll)/.test(s.overflowY) && n.scrollHeight > n.clientHeight + 10) {
      n.dataset.testScroller = '1';
      return n.scrollTop;
    }
  }
  return null;
}"""


def _scale(graph: Any) -> float:
    return float(graph.get_attribute("data-scale"))


def test_200_routine_flow_is_readable(browser_page, jupyter_lab, tmp_path):
    page = browser_page
    page.set_viewport_size({"width": 1400, "height": 1000})
    nb_path = write_notebook(tmp_path / "large_flow.ipynb", [FLOW, GRAPH, FILLER])
    open_notebook(page, jupyter_lab, nb_path)
    ARTIFACTS_DIR.mkdir(exist_ok=True)

    # -- the static picture (the HTML repr of the flow) ---------------------------------
    static = page.locator(".jp-Cell").nth(0).locator(".jp-OutputArea-output").first
    static.locator("svg text").nth(199).wait_for(state="attached")
    static.scroll_into_view_if_needed()
    static.screenshot(path=str(ARTIFACTS_DIR / "large-flow-static.png"))
    heights = static.locator("svg text").evaluate_all(
        "ts => ts.map(t => t.getBoundingClientRect().height)"
    )
    assert len(heights) == 200
    assert min(heights) >= 9, f"static names are {min(heights):.1f} px tall"
    box = static.locator("div:has(> svg)").first
    assert box.evaluate("b => b.scrollWidth > b.clientWidth")  # wide: it scrolls, not squeezed

    # -- the live graph after Fit --------------------------------------------------------
    graph = page.locator(".jp-Cell").nth(1).locator(".rnb-flowgraph")
    graph.locator(".rnb-flow-title", has_text="200 routines").wait_for()
    # Long chains are summary boxes; the minimap shows every box.
    boxes = graph.locator(".rnb-mini-node").count()
    assert 100 < boxes < 200
    assert "chains collapsed" in graph.locator(".rnb-flow-title").inner_text()
    counts = graph.locator('.rnb-node[data-routine-id="r0"] .rnb-counts', has_text="×5")
    counts.wait_for(state="attached")  # live counts arrive (hidden far out)
    graph.evaluate("g => g.scrollIntoView({block: 'start'})")
    graph.locator('[data-zoom="fit"]').click()
    labels = graph.evaluate(VISIBLE_LABELS)
    assert len(labels) >= 40, f"only {len(labels)} names readable in view after Fit"
    smallest = min(label["h"] for label in labels)
    assert smallest >= 9, f"after Fit the smallest name in view is {smallest:.1f} px tall"
    assert all(label["text"] for label in labels)
    canvas_h = graph.locator(".rnb-canvas").evaluate("c => c.clientHeight")
    assert 240 <= canvas_h <= 640
    assert graph.evaluate(FILLED_HEIGHT) > 0.8  # Fit uses the canvas's height
    assert graph.locator(".rnb-minimap").is_visible()  # the rest is reached by panning
    fit_scale = _scale(graph)
    graph.screenshot(path=str(ARTIFACTS_DIR / "large-flow-fit.png"))

    # "+" steps to a noticeably larger scale.
    graph.locator('[data-zoom="in"]').click()
    assert _scale(graph) >= fit_scale * 1.3
    graph.locator('[data-zoom="fit"]').click()
    assert _scale(graph) == fit_scale

    # -- the wheel scrolls the notebook, not the graph ---------------------------------
    start = graph.evaluate(SCROLLER)
    assert start is not None, "no scrolling container around the graph"
    scroller = page.locator("[data-test-scroller]")
    canvas_box = graph.locator(".rnb-canvas").bounding_box()
    page.mouse.move(canvas_box["x"] + canvas_box["width"] / 2, canvas_box["y"] + 100)
    page.mouse.wheel(0, 400)
    page.wait_for_function(
        "([el, start]) => el.scrollTop > start", arg=[scroller.element_handle(), start]
    )
    assert _scale(graph) == fit_scale
    assert graph.evaluate("g => g.classList.contains('rnb-hinting')")  # says how to zoom
    # With Ctrl held, the wheel zooms the graph.
    graph.evaluate("g => g.scrollIntoView({block: 'start'})")
    canvas_box = graph.locator(".rnb-canvas").bounding_box()
    page.mouse.move(canvas_box["x"] + canvas_box["width"] / 2, canvas_box["y"] + 100)
    page.keyboard.down("Control")
    page.mouse.wheel(0, -200)
    page.keyboard.up("Control")
    page.wait_for_function(
        f"g => Number(g.dataset.scale) > {fit_scale}", arg=graph.element_handle()
    )

    # After a click into the graph, the wheel zooms it without a modifier (until the
    # pointer leaves the graph).
    graph.locator('[data-zoom="fit"]').click()
    page.mouse.click(canvas_box["x"] + 8, canvas_box["y"] + 8)  # empty corner
    before = scroller.evaluate("el => el.scrollTop")
    page.mouse.wheel(0, -200)
    page.wait_for_function(
        f"g => Number(g.dataset.scale) > {fit_scale}", arg=graph.element_handle()
    )
    assert scroller.evaluate("el => el.scrollTop") == before

    # -- search zooms to the match at a readable scale and centres it -----------------
    search = graph.locator(".rnb-search")
    search.fill("r150")
    search.press("Enter")
    page.wait_for_function("g => Number(g.dataset.scale) >= 1", arg=graph.element_handle())
    title = graph.locator('.rnb-node[data-routine-id="r150"] .rnb-title')
    rect = title.evaluate("t => t.getBoundingClientRect().toJSON()")
    canvas_box = graph.locator(".rnb-canvas").bounding_box()
    assert rect["height"] >= 9, f"found r150 at {rect['height']:.1f} px"
    middle_x = canvas_box["x"] + canvas_box["width"] / 2
    assert abs(rect["x"] + rect["width"] / 2 - middle_x) < canvas_box["width"] / 4
    assert canvas_box["y"] < rect["y"] < canvas_box["y"] + canvas_box["height"]
    assert "rnb-match" in (
        graph.locator('.rnb-node[data-routine-id="r150"]').get_attribute("class") or ""
    )
    graph.screenshot(path=str(ARTIFACTS_DIR / "large-flow-search.png"))

    # -- summary boxes expand: on click, and when search goes to a routine inside one --
    search.fill("")
    graph.locator('[data-zoom="fit"]').click()
    group = graph.locator('.rnb-node.rnb-group[data-routine-id="r12…r45"]')
    group.click()
    member = graph.locator('.rnb-node[data-routine-id="r23"]')
    member.wait_for(state="attached")
    group.wait_for(state="detached")
    assert graph.locator(".rnb-mini-node").count() == boxes + 6  # 7 routines for 1 box
    search.fill("r141")  # collapsed in "r119…r141"
    search.press("Enter")
    found = graph.locator('.rnb-node[data-routine-id="r141"] .rnb-title')
    found.wait_for()
    page.wait_for_function("g => Number(g.dataset.scale) >= 1", arg=graph.element_handle())
    rect = found.evaluate("t => t.getBoundingClientRect().toJSON()")
    canvas_box = graph.locator(".rnb-canvas").bounding_box()
    assert rect["height"] >= 9
    assert abs(rect["x"] + rect["width"] / 2 - middle_x) < canvas_box["width"] / 4
    graph.screenshot(path=str(ARTIFACTS_DIR / "large-flow-expanded.png"))
    save_screenshot(page, "large-flow-page")
