"""The typed seams of the monitor: MonitorHooks, TraceRecord, Snapshot, HTML reprs, layers."""

from __future__ import annotations

import ast
import inspect
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import get_type_hints

import pytest

from routilux_nb.core.display import HtmlRepr
from routilux_nb.core.hooks import MonitorHooks, NullMonitor
from routilux_nb.monitor import Monitor, Snapshot, TraceRecord
from routilux_nb.monitor import types as snapshot_types

WAIT = 2.0

MONITOR_DIR = Path(__file__).resolve().parents[2] / "routilux_nb" / "monitor"
HOOKS = [
    name
    for name, value in vars(MonitorHooks).items()
    if callable(value) and not name.startswith("_")
]


def test_null_monitor_and_monitor_satisfy_the_hooks_protocol():
    assert isinstance(NullMonitor(), MonitorHooks)
    assert isinstance(Monitor(), MonitorHooks)
    assert {
        "job_created",
        "job_status",
        "activation_start",
        "activation_end",
        "emit",
        "check",
    } <= set(HOOKS)


@pytest.mark.parametrize("cls", [NullMonitor, Monitor])
def test_every_hook_has_the_protocol_signature(cls):
    for name in HOOKS:
        want = list(inspect.signature(getattr(MonitorHooks, name)).parameters)
        have = list(inspect.signature(getattr(cls, name)).parameters)
        assert have == want, f"{cls.__name__}.{name}{have} != MonitorHooks.{name}{want}"


def test_trace_records_are_typed_views(rt, chain):
    job = rt.submit(chain().flow, data={"values": [1, 2]}).wait(WAIT)
    records = job.trace.records()
    assert records and all(isinstance(r, TraceRecord) for r in records)
    assert [r.seq for r in records] == [r[0] for r in records] == sorted(r.seq for r in records)
    ends = [r for r in records if r.event_type == "routine_end"]
    assert {r.routine_id for r in ends} == {"source", "double", "sink"}
    for r in ends:
        assert r.cpu_time is not None and r.cpu_time >= 0
        assert r.queue_wait is not None and r.queue_wait >= 0
        assert r.duration is not None and r.status == "ok"
    emits = [r for r in records if r.event_type == "event_emit"]
    assert {r.detail for r in emits} == {"output"} and all(r.payload for r in emits)


def _keys(td: type) -> set[str]:
    return set(get_type_hints(td))


def test_snapshot_has_exactly_the_typed_keys(rt, chain):
    w = rt.start(chain().flow)
    job = w.submit(data={"values": [1, 2, 3]}).wait(WAIT)
    for snap in (rt.monitor.snapshot(w), rt.monitor.snapshot(w, job=job)):
        assert set(snap) == _keys(Snapshot)
        assert set(snap["worker"]) == _keys(snapshot_types.WorkerView)
        assert set(snap["routines"]) == {"source", "double", "sink"}
        for view in snap["routines"].values():
            assert set(view) == _keys(snapshot_types.RoutineView)
        for slots in snap["queues"].values():
            for q in slots.values():
                assert set(q) == _keys(snapshot_types.QueueView)
        for c in snap["connections"].values():
            assert set(c) == _keys(snapshot_types.ConnectionView)
        assert job.job_id in snap["jobs"]
        for j in snap["jobs"].values():
            assert set(j) == _keys(snapshot_types.JobView)
        json.dumps(snap)


def test_snapshot_breakpoints_and_paused_views(rt, chain):
    c = chain()
    w = rt.start(c.flow)
    bp = rt.monitor.add_breakpoint("routine", "double", worker=w)
    job = w.submit(data={"value": 1})
    assert job.debug.wait_paused(WAIT)
    snap = rt.monitor.snapshot(w)
    assert [set(b) for b in snap["breakpoints"]] == [_keys(snapshot_types.BreakpointView)]
    assert [set(p) for p in snap["paused"]] == [_keys(snapshot_types.PausedView)]
    rt.monitor.remove_breakpoint(bp.breakpoint_id)
    job.debug.resume()
    assert job.wait(WAIT).status == "completed"


def test_readers_are_html_reprs(rt, chain):
    import routilux_nb  # installs the renderer

    assert routilux_nb
    c = chain()
    w = rt.start(c.flow)
    bp = rt.monitor.add_breakpoint("routine", "double", worker=w)
    job = w.submit(data={"value": 1})
    assert job.debug.wait_paused(WAIT)
    objects = [bp, job.debug, job.trace, job.metrics, w.history]
    for obj in objects:
        assert isinstance(obj, HtmlRepr)
        assert "_repr_html_" not in type(obj).__dict__, type(obj).__name__
        html = obj._repr_html_()
        assert html is not None and html.startswith("<div"), type(obj).__name__
    rt.monitor.remove_breakpoint(bp.breakpoint_id)
    job.debug.resume()
    job.wait(WAIT)


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            out.append(base)
    return out


def test_monitor_imports_neither_notebook_nor_server_and_modules_stay_small():
    for path in sorted(MONITOR_DIR.glob("*.py")):
        for name in _imports(path):
            assert not name.startswith(
                ("routilux_nb.notebook", "routilux_nb.server", "..notebook", "..server")
            ), f"{path.name} imports {name}"
        lines = len(path.read_text().splitlines())
        assert lines <= 400, f"{path.name} has {lines} lines"


BLOCKED = textwrap.dedent("""
    import importlib.abc, json, sys

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("anywidget", "ipywidgets"):
                raise ModuleNotFoundError(f"No module named {name!r} (blocked)")
            return None

    sys.meta_path.insert(0, Block())
    namespace = {}
    exec("from routilux_nb import *", namespace)
    import routilux_nb as rx
    import routilux_nb.notebook.reprs
    flow = rx.Flow("blocked")

    @flow.routine(slots=["input"], events=[])
    def sink(input):
        pass

    rt = rx.Runtime()
    job = rt.submit(flow, data={"x": 1}).wait(5)
    html = [job.trace._repr_html_(), job.metrics._repr_html_(), flow._repr_html_()]
    try:
        rx.dashboard
        live = "loaded"
    except ImportError as exc:
        live = str(exc)
    rt.shutdown()
    print(json.dumps({
        "names": sorted(k for k in namespace if not k.startswith("__")),
        "html": [h is not None and h.startswith("<div") for h in html],
        "widgets": sorted(m for m in sys.modules if m.split(".")[0] in ("anywidget", "ipywidgets")),
        "dir": "dashboard" in dir(rx),
        "live": live,
    }))
""")


def test_without_the_widget_libraries_import_star_and_reprs_work():
    out = subprocess.run(
        [sys.executable, "-c", BLOCKED], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert {"Flow", "Runtime", "runtime", "load_flow"} <= set(result["names"])
    assert "dashboard" not in result["names"]
    assert result["html"] == [True, True, True]
    assert result["widgets"] == []
    assert result["dir"] is True
    assert result["live"] != "loaded" and "notebook" in result["live"]
