"""Static HTML reprs of public objects: well-formed, escaped, capped; text reprs deterministic."""

from __future__ import annotations

import base64
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest

import routilux_nb as rx
from routilux_nb.notebook import reprs
from routilux_nb.notebook.reprs import MAX_HTML, MAX_ROWS, html_for

WAIT = 5.0
EVIL = "<script>alert(1)</script>"
VOID = {"br", "hr", "img", "input", "meta", "link", "col", "wbr", "area", "base", "source"}
SVG_LEAVES = {"rect", "circle", "path", "line", "polyline", "polygon", "ellipse"}


class TagChecker(HTMLParser):
    """Records unbalanced tags and anything a notebook repr must never contain."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "iframe"):
            self.errors.append(f"forbidden <{tag}>")
        if any(name.startswith("on") for name, _ in attrs):
            self.errors.append(f"event handler attribute on <{tag}>")
        if any(name == "class" for name, _ in attrs) and tag != "svg":
            self.errors.append(f"class attribute on <{tag}> (inline styles only)")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID | SVG_LEAVES:
            self.errors.append(f"self-closed <{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> (open: {self.stack[-3:]})")
            return
        self.stack.pop()


def check_html(text: str) -> None:
    checker = TagChecker()
    checker.feed(text)
    checker.close()
    assert not checker.errors, checker.errors[:5]
    assert not checker.stack, f"unclosed tags: {checker.stack}"
    assert EVIL not in text
    assert len(text) <= MAX_HTML


def chain(flow_id: str = "reprs") -> rx.Flow:
    flow = rx.Flow(flow_id)

    @flow.routine(slots=["input"], events=["output"], config={"label": EVIL})
    def source(input, ctx):
        for i in range(input[0].get("n", 2)):
            ctx.emit("output", value=i, note=EVIL)

    @flow.routine(slots=["input"], events=["output"])
    def double(input, ctx):
        return [{"value": item["value"] * 2} for item in input]

    @flow.routine(slots=["input"], events=[])
    def sink(input, ctx):
        if any(item["value"] > 100 for item in input):
            raise ValueError(EVIL)
        ctx.data.setdefault("out", []).extend(item["value"] for item in input)

    flow.connect("source.output", "double.input")
    flow.connect("double.output", "sink.input")
    return flow


@pytest.fixture
def rt() -> Iterator[rx.Runtime]:
    runtime = rx.Runtime()
    yield runtime
    runtime.shutdown()


@pytest.fixture
def objects(rt: rx.Runtime) -> Iterator[dict[str, Any]]:
    """One of every public object with an HTML repr, in interesting states."""
    flow = chain()
    worker = rt.start(flow)
    done = worker.submit("source", "input", {"n": 3}).wait(WAIT)
    failed = worker.submit("source", "input", {"n": 60})
    assert failed.wait(WAIT).status == "failed"
    bp = rt.monitor.add_breakpoint("routine", "double", worker=worker, condition="value >= 0")
    paused = worker.submit("source", "input", {"n": 1})
    assert paused.debug.wait_paused(WAIT)
    out = {
        "flow": flow,
        "routine": flow.routines["source"],
        "worker": worker,
        "job_completed": done,
        "job_failed": failed,
        "job_paused": paused,
        "breakpoint": bp,
        "debug_paused": paused.debug,
        "debug_idle": done.debug,
        "runtime": rt,
        "metrics": failed.metrics,
        "trace": failed.trace,
        "history": worker.history,
    }
    yield out
    rt.monitor.breakpoints.clear()
    paused.debug.resume()
    paused.wait(WAIT)


NAMES = [
    "flow",
    "routine",
    "worker",
    "job_completed",
    "job_failed",
    "job_paused",
    "breakpoint",
    "debug_paused",
    "debug_idle",
    "runtime",
    "metrics",
    "trace",
    "history",
]


@pytest.mark.parametrize("name", NAMES)
def test_html_repr_is_well_formed_and_escaped(objects, name):
    obj = objects[name]
    text = obj._repr_html_()
    assert text == html_for(obj) or name in ("runtime", "worker", "job_paused")
    assert text.startswith("<div") and "style=" in text
    check_html(text)


@pytest.mark.parametrize("name", NAMES)
def test_text_repr_has_no_memory_address(objects, name):
    text = repr(objects[name])
    assert not re.search(r"0x[0-9a-fA-F]{6,}", text), text
    assert repr(objects[name]) == text  # stable between calls


def test_flow_repr_draws_the_graph(objects):
    text = objects["flow"]._repr_html_()
    assert text.count("<tr>") >= 4  # header + three routines
    # drawn as an <img> (kept by the sanitizer of untrusted notebooks), not inline <svg>
    assert "<svg" not in text
    [uri] = re.findall(r'<img src="data:image/svg\+xml;base64,([^"]+)"', text)
    svg = base64.b64decode(uri).decode()
    assert svg.startswith("<svg") and ">source<" in svg


def test_failed_job_shows_the_traceback_collapsed(objects):
    text = objects["job_failed"]._repr_html_()
    assert '<span style="display:inline-block' in text and ">failed<" in text
    assert "<details" in text and "Traceback" in text
    assert "&lt;script&gt;" in text


def test_paused_debug_session_shows_location_variables_and_stack(objects):
    text = objects["debug_paused"]._repr_html_()
    for part in ("routine_id", "double", "payload", "call stack", "source"):
        assert part in text


def test_trace_is_capped_with_a_count_of_the_rest(objects):
    trace = objects["trace"]
    assert trace.total > MAX_ROWS
    text = trace._repr_html_()
    assert text.count("<tr>") == MAX_ROWS + 1  # header + the newest rows
    assert f"… {trace.total - MAX_ROWS} more" in text


def test_history_is_capped(rt):
    worker = rt.start(chain("many"))
    worker.submit("source", "input", {"n": 40}).wait(WAIT)
    history = worker.history
    assert len(history) > MAX_ROWS
    text = history._repr_html_()
    check_html(text)
    assert f"… {len(history) - MAX_ROWS} more" in text


def test_large_flow_is_summarised_and_capped():
    flow = rx.Flow("big")
    for i in range(400):
        flow.routine(lambda input, ctx: None, routine_id=f"r{i}", slots=["input"], events=[])
    text = flow._repr_html_()
    check_html(text)
    assert "not drawn" in text
    # Every routine is listed, folded away under the picture.
    folded = text[text.index("<details") :]
    assert "All 400 routines" in folded and ">r399<" in folded


def test_200_routine_flow_repr_is_an_overview_under_60_kb():
    rng = random.Random(7)
    flow = rx.Flow("big")
    for i in range(200):
        flow.routine(
            lambda input, ctx: None, routine_id=f"r{i}", slots=["input"], events=["output"]
        )
    for i in range(1, 200):
        flow.connect(f"r{rng.randint(max(0, i - 12), i - 1)}.output", f"r{i}.input")
    text = flow._repr_html_()
    check_html(text)
    assert len(text.encode()) < 60_000
    picture = text[text.index("<svg") : text.index("</svg>")]
    assert picture.count("<rect") == 200 and 'font-size="11"' in picture
    assert "overflow:auto" in text[: text.index("<svg")]  # the picture scrolls, it is not squeezed
    assert "sources" in text and ">r0<" in text
    assert "scroll the picture sideways" in text and ">layers<" in text
    folded = text[text.index("<details") :]
    assert "All 200 routines" in folded and folded.count("<tr>") == 201


def test_oversized_html_falls_back_to_the_text_repr(monkeypatch, objects):
    monkeypatch.setattr(reprs, "MAX_HTML", 100)
    text = html_for(objects["flow"])
    check_html(text)
    assert "too large" in text and "Flow(flow_id=" in text


def test_a_failing_view_does_not_raise(monkeypatch, objects):
    def boom(_obj: Any) -> str:
        raise RuntimeError(EVIL)

    monkeypatch.setattr(reprs, "_flow", boom)
    text = html_for(objects["flow"])
    check_html(text)
    assert "no HTML view: RuntimeError" in text


def test_unknown_objects_get_their_text_repr():
    text = html_for(["<b>", 1])
    check_html(text)
    assert "&lt;b&gt;" in text


def test_server_handle_links(rt):
    pytest.importorskip("fastapi")
    pytest.importorskip("uvicorn")
    handle = rt.serve()
    try:
        text = html_for(handle)
        check_html(text)
        assert handle.url in text and "/docs" in text and ">running<" in text
        assert not re.search(r"0x[0-9a-fA-F]{6,}", repr(handle))
    finally:
        handle.stop()


def test_reprs_import_no_widget_library():
    code = (
        "import sys, routilux_nb as rx\n"
        "from routilux_nb.notebook.reprs import html_for\n"
        "html_for(rx.Flow('x'))\n"
        "bad = [m for m in ('ipywidgets', 'anywidget', 'fastapi') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_breakpoint_with_callable_condition_has_a_deterministic_repr(rt):
    worker = rt.start(chain("callable"))
    bp = rt.monitor.add_breakpoint("routine", "double", worker=worker, condition=lambda value: True)
    text = repr(bp)
    assert not re.search(r"0x[0-9a-fA-F]{6,}", text), text
    assert "created_at" not in text, text
