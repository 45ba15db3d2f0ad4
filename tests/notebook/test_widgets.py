from __future__ import annotations

import copy
import json
import subprocess
import sys
import threading
from typing import Any

import pandas as pd
import pytest

import routilux_nb.notebook as nb
from routilux_nb.notebook.widgets import (
    Dashboard,
    Debugger,
    FlowGraph,
    JobProgress,
    QueueGauges,
    TraceTable,
)

SYNCED = ("graph_layout", "routines", "status", "queues", "edge_counts", "breakpoints")


def count_changes(widget: Any, names: list[str]) -> list[str]:
    seen: list[str] = []
    widget.observe(lambda change: seen.append(change["name"]), names=names)
    return seen


def trace_rows(start: int, stop: int, routine: str = "double") -> list[dict[str, Any]]:
    return [
        {
            "seq": i,
            "event_id": f"e{i}",
            "job_id": "job-abc",
            "routine_id": routine,
            "event_type": "routine_end" if i % 2 else "routine_start",
            "timestamp": f"2026-01-01T00:00:{i % 60:02d}+00:00",
            "data": {"i": i},
            "duration": 0.001 * i,
            "status": None,
        }
        for i in range(start, stop)
    ]


PAUSED = {
    "job_id": "job-abc",
    "status": "paused",
    "location": {
        "kind": "routine",
        "routine_id": "double",
        "slot_name": "input",
        "event_name": None,
        "breakpoint_id": "bp-1",
    },
    "variables": {"payload": {"x": 1}, "config": {}, "job_data": {}},
    "call_stack": [
        {
            "routine_id": "source",
            "event_name": "output",
            "target_routine": "double",
            "target_slot": "input",
        }
    ],
}


def test_public_names():
    assert set(nb.__all__) == {
        "Coalescer",
        "Dashboard",
        "Debugger",
        "FlowGraph",
        "JobProgress",
        "MapProgress",
        "QueueGauges",
        "TraceTable",
        "badge",
        "card",
        "flow_svg",
        "kv",
        "layered_layout",
        "table",
    }
    assert nb.FlowGraph is FlowGraph
    with pytest.raises(AttributeError):
        nb.NotAWidget  # noqa: B018


def test_missing_extra_names_the_install_command():
    code = (
        "import sys; sys.modules['anywidget'] = None\n"
        "import routilux_nb.notebook as nb\n"
        "assert nb.flow_svg({'routines': {}}).startswith('<svg')\n"
        "try:\n    nb.FlowGraph\nexcept ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert 'pip install "routilux_nb[notebook]"' in out.stdout
    assert "anywidget" in out.stdout


def test_assets_ship_beside_the_modules():
    for cls in (FlowGraph, QueueGauges, TraceTable, Debugger, JobProgress):
        widget = cls()
        assert "export default" in widget._esm
        assert widget._css.strip()


def test_flow_graph_from_flow(etl_flow):
    graph = FlowGraph(etl_flow)
    assert repr(graph) == "FlowGraph(flow_id='etl', routines=3)"
    assert set(graph.graph_layout["nodes"]) == {"source", "double", "sink"}
    assert graph.routines["double"]["activation_policy"]["type"] == "immediate"
    json.dumps({name: getattr(graph, name) for name in SYNCED})


def test_flow_graph_applies_snapshot_diffs(etl_flow, snapshot):
    graph = FlowGraph(etl_flow)
    seen = count_changes(graph, list(SYNCED))
    changed = graph.apply_snapshot(snapshot)
    assert sorted(changed) == ["breakpoints", "edge_counts", "queues", "status"]
    assert graph.status["double"]["status"] == "running"
    assert graph.queues["double"]["input"]["unconsumed_count"] == 5
    assert graph.edge_counts == {"conn_0": 42}
    assert graph.breakpoints == ["double"]
    assert graph.apply_snapshot(copy.deepcopy(snapshot)) == []
    assert len(seen) == 4

    later = copy.deepcopy(snapshot)
    later["connections"]["conn_0"]["count"] = 43
    assert graph.apply_snapshot(later) == ["edge_counts"]
    assert graph.apply_snapshot({"seq": 9}) == []  # missing keys leave traits alone
    assert graph.edge_counts == {"conn_0": 43}


def test_flow_graph_marks_paused_routines(etl_flow, snapshot):
    graph = FlowGraph(etl_flow)
    snapshot["paused"] = [{"job_id": "job-abc", "routine_id": "sink", "kind": "slot"}]
    snapshot["breakpoints"].append({"type": "routine", "routine_id": "sink", "enabled": False})
    graph.apply_snapshot(snapshot)
    assert graph.status["sink"] == {"status": "paused"}
    assert graph.breakpoints == ["double"]


def test_flow_graph_breakpoint_toggle(etl_flow):
    graph = FlowGraph(etl_flow)
    graph._handle_custom_msg({"type": "toggle_breakpoint", "routine_id": "double"}, [])
    toggled: list[str] = []
    graph.on_toggle_breakpoint(toggled.append)
    graph._handle_custom_msg({"type": "toggle_breakpoint", "routine_id": "double"}, [])
    graph._handle_custom_msg({"type": "toggle_breakpoint", "routine_id": "nope"}, [])
    graph._handle_custom_msg({"type": "unknown"}, [])
    graph._handle_custom_msg("not a dict", [])
    assert toggled == ["double"]
    graph.on_toggle_breakpoint(toggled.append, remove=True)
    graph._handle_custom_msg({"type": "toggle_breakpoint", "routine_id": "sink"}, [])
    assert toggled == ["double"]


def test_flow_graph_front_end_traits(etl_flow):
    graph = FlowGraph(etl_flow)
    graph.set_state({"selected": "double", "highlight": "dou"})
    assert (graph.selected, graph.highlight) == ("double", "dou")
    graph.select("")
    assert graph.selected == ""


def test_queue_gauges_history_is_bounded_and_deduplicated(snapshot):
    gauges = QueueGauges()
    seen = count_changes(gauges, ["queues", "history"])
    for seq in range(40):
        snap = copy.deepcopy(snapshot)
        snap["seq"] = seq
        snap["queues"]["double"]["input"]["unconsumed_count"] = seq
        gauges.apply_snapshot(snap)
    assert gauges.history["double.input"] == list(range(10, 40))
    assert repr(gauges) == "QueueGauges(slots=1)"
    before = len(seen)
    gauges.apply_snapshot(snap)  # same seq again
    assert len(seen) == before
    assert gauges.apply_snapshot({"seq": 100}) == []


def test_queue_gauges_history_without_seq(snapshot):
    gauges = QueueGauges()
    del snapshot["seq"], snapshot["time"]
    gauges.apply_snapshot(snapshot)
    assert gauges.apply_snapshot(copy.deepcopy(snapshot)) == []  # same content: no new point
    snapshot["jobs"]["job-abc"]["elapsed"] = 2.0  # a new snapshot, same queues
    assert gauges.apply_snapshot(snapshot) == ["history"]
    assert gauges.history == {"double.input": [5, 5]}


def test_trace_table_bounded_newest_first():
    table = TraceTable(max_rows=5)
    table.add_rows(trace_rows(0, 3))
    table.add_rows(trace_rows(3, 12))
    assert [r["seq"] for r in table.rows] == [11, 10, 9, 8, 7]
    assert table.rows[0]["data"] == "{'i': 11}"
    assert repr(table) == "TraceTable(rows=5, max_rows=5, follow=True)"
    with pytest.raises(ValueError):
        TraceTable(max_rows=0)


def test_trace_table_pause_buffers_until_follow():
    table = TraceTable(max_rows=4)
    table.add_rows(trace_rows(0, 2))
    seen = count_changes(table, ["rows"])
    table.set_state({"follow": False})  # as the front-end button does
    table.add_rows(trace_rows(2, 9))
    assert seen == [] and [r["seq"] for r in table.rows] == [1, 0]
    assert table.buffered == 7
    assert list(table.to_pandas()["seq"]) == [8, 7, 6, 5]
    table.follow = True
    assert seen == ["rows"] and table.buffered == 0
    assert [r["seq"] for r in table.rows] == [8, 7, 6, 5]
    table.clear()
    assert table.rows == [] and table.to_pandas().empty


def test_trace_table_to_pandas_schema():
    table = TraceTable()
    table.add_rows(trace_rows(0, 4) + trace_rows(4, 6, routine="sink"))
    frame = table.to_pandas()
    assert list(frame.columns) == [
        "seq",
        "event_id",
        "job_id",
        "routine_id",
        "event_type",
        "timestamp",
        "data",
        "duration",
        "status",
    ]
    assert str(frame["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert str(frame["seq"].dtype) == "Int64" and frame["duration"].dtype == "float64"
    assert frame["timestamp"].iloc[0] == pd.Timestamp("2026-01-01T00:00:05Z")
    assert frame["status"].isna().all()
    table.set_state({"filter_routine": "sink", "filter_type": "routine_end"})
    assert list(table.to_pandas(filtered=True)["seq"]) == [5]
    assert len(table.to_pandas()) == 6


def test_debugger_actions_reach_callbacks():
    debugger = Debugger()
    calls: list[tuple[Any, ...]] = []
    debugger.on_action(lambda action, job_id: calls.append((action, job_id)))
    debugger.on_set_variable(lambda name, value, job_id: calls.append((name, value, job_id)))
    debugger._handle_custom_msg({"type": "action", "action": "resume"}, [])
    assert calls == [] and "not paused" in debugger.message

    debugger.set_state(PAUSED)
    assert debugger.paused and repr(debugger) == "Debugger(job_id='job-abc', status='paused')"
    for action in ("resume", "step_over", "step_into", "drop"):
        debugger._handle_custom_msg({"type": "action", "action": action}, [])
    debugger._handle_custom_msg({"type": "set_variable", "name": "payload", "value": [1]}, [])
    debugger._handle_custom_msg({"type": "set_variable", "name": "config", "value": {}}, [])
    debugger._handle_custom_msg({"type": "action", "action": "explode"}, [])
    assert calls == [
        ("resume", "job-abc"),
        ("step_over", "job-abc"),
        ("step_into", "job-abc"),
        ("drop", "job-abc"),
        ("payload", [1], "job-abc"),
    ]
    assert "explode" in debugger.message


def test_debugger_reports_results_and_failures():
    debugger = Debugger(PAUSED)
    debugger._handle_custom_msg({"type": "action", "action": "resume"}, [])
    assert debugger.message == "resume: no handler registered"
    debugger.on_action(lambda action, job_id: f"{action}d {job_id}")
    debugger._handle_custom_msg({"type": "action", "action": "resume"}, [])
    assert debugger.message == "resumed job-abc"

    def fail(name: str, value: Any, job_id: str) -> None:
        raise KeyError("gone")

    debugger.on_set_variable(fail)
    debugger._handle_custom_msg({"type": "set_variable", "name": "payload", "value": 1}, [])
    assert debugger.message.startswith("set payload failed: KeyError")
    debugger.set_state(None)
    assert debugger.state == {} and not debugger.paused


def test_job_progress_merges_and_bounds(snapshot):
    jobs = JobProgress()
    jobs.apply_snapshot(snapshot)
    assert list(jobs.jobs) == ["job-abc"]
    seen = count_changes(jobs, ["jobs"])
    assert jobs.apply_snapshot(snapshot) == [] and seen == []
    for i in range(60):
        jobs.apply_snapshot(
            {
                "jobs": {
                    f"j{i:02d}": {
                        "job_id": f"j{i:02d}",
                        "status": "completed",
                        "created_at": f"2026-01-02T00:00:{i:02d}+00:00",
                        "routine_counts": {"a": i},
                    }
                }
            }
        )
    assert len(jobs.jobs) == 50
    assert list(jobs.jobs)[0] == "j59" and "j09" not in jobs.jobs and "job-abc" not in jobs.jobs
    assert repr(jobs) == "JobProgress(jobs=50)"


def test_dashboard_fans_out(etl_flow, snapshot):
    dash = Dashboard(etl_flow, max_trace_rows=10)
    assert repr(dash) == "Dashboard(flow_id='etl', routines=3)"
    changed = dash.apply_snapshot(snapshot)
    assert {"flow_graph.status", "job_progress.jobs", "queue_gauges.queues"} <= set(changed)
    assert dash.apply_snapshot(copy.deepcopy(snapshot)) == []
    dash.add_trace_rows(trace_rows(0, 20))
    assert len(dash.trace_table.rows) == 10
    dash.tabs.selected_index = 0
    dash.set_debug_state(PAUSED)
    assert dash.tabs.selected_index == 3 and dash.debugger.paused
    dash.tabs.selected_index = 0
    dash.set_debug_state(PAUSED)  # still paused: the user's tab choice stays
    assert dash.tabs.selected_index == 0


def test_reprs_are_deterministic(etl_flow):
    widgets = [
        FlowGraph(etl_flow),
        QueueGauges(),
        TraceTable(),
        Debugger(),
        JobProgress(),
        Dashboard(etl_flow),
    ]
    for widget in widgets:
        text = repr(widget)
        assert "0x" not in text and " at " not in text
        assert text == repr(widget)
    assert [repr(w) for w in widgets[:2]] == [repr(FlowGraph(etl_flow)), repr(QueueGauges())]


def test_concurrent_updates(etl_flow, snapshot):
    dash = Dashboard(etl_flow)
    errors: list[BaseException] = []

    def worker(offset: int) -> None:
        try:
            for i in range(500):
                snap = copy.deepcopy(snapshot)
                snap["seq"] = offset * 1000 + i
                snap["routines"]["double"]["execution_count"] = i
                snap["connections"]["conn_0"]["count"] = i
                snap["queues"]["double"]["input"]["unconsumed_count"] = i % 17
                snap["jobs"][f"job-{offset}-{i % 60}"] = {
                    "job_id": f"job-{offset}-{i % 60}",
                    "status": "running",
                    "created_at": f"2026-01-01T00:{i % 60:02d}:00+00:00",
                    "elapsed": 0.0,
                    "routine_counts": {},
                    "error": None,
                }
                dash.apply_snapshot(snap)
                dash.add_trace_rows(trace_rows(i, i + 1))
                if i % 50 == 0:
                    dash.set_debug_state(PAUSED if i % 100 == 0 else None)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(dash.trace_table.rows) == 200
    assert len(dash.job_progress.jobs) == 50
    assert all(len(h) <= 30 for h in dash.queue_gauges.history.values())
