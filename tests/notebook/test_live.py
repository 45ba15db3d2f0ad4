"""Live widgets against real running flows: updates, buttons, breakpoints, rate, cleanup."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import routilux_nb as rx
from routilux_nb.notebook import live
from routilux_nb.notebook.watcher import watcher_for
from routilux_nb.notebook.widgets import Dashboard, Debugger, FlowGraph

WAIT = 5.0


def until(predicate: Callable[[], Any], timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.01)


def chain(flow_id: str = "live", gate: threading.Event | None = None) -> rx.Flow:
    """``source -> double -> sink``; ``source`` emits ``n`` values (waits on ``gate`` first)."""
    flow = rx.Flow(flow_id)

    @flow.routine(slots=["input"], events=["output"])
    def source(input, ctx):
        if gate is not None:
            gate.wait(WAIT)
        for i in range(input[0].get("n", 3)):
            ctx.emit("output", value=i)

    @flow.routine(slots=["input"], events=["output"])
    def double(input, ctx):
        return [{"value": item["value"] * 2} for item in input]

    @flow.routine(slots=["input"], events=[])
    def sink(input, ctx):
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
def closing() -> Iterator[Callable[[Any], Any]]:
    """Register widgets to close after the test (streams must not outlive it)."""
    made: list[Any] = []
    yield lambda w: made.append(w) or w
    for w in made:
        w.close()


def stream_count(runtime: rx.Runtime) -> int:
    return runtime.monitor.ticker.stream_count


def send(widget: Any, content: dict[str, Any]) -> None:
    """Deliver a custom message as the front end would."""
    widget._handle_custom_msg(content, [])


def test_flow_graph_follows_statuses_and_edge_counts(rt, closing):
    worker = rt.start(chain())
    graph = closing(live.flow_graph(worker))
    assert isinstance(graph, FlowGraph)
    assert set(graph.routines) == {"source", "double", "sink"}
    job = worker.submit("source", "input", {"n": 5}).wait(WAIT)
    assert job.data["out"] == [0, 2, 4, 6, 8]
    until(lambda: graph.status.get("sink", {}).get("execution_count", 0) >= 1)
    until(lambda: sum(graph.edge_counts.values()) == 10)
    assert graph.status["double"]["status"] in ("idle", "completed")


def test_flow_graph_toggle_adds_and_removes_a_worker_breakpoint(rt, closing):
    worker = rt.start(chain())
    graph = closing(live.flow_graph(worker))
    send(graph, {"type": "toggle_breakpoint", "routine_id": "double"})
    bps = rt.monitor.breakpoints.list()
    assert [(b.type, b.routine_id, b.worker_id) for b in bps] == [
        ("routine", "double", worker.worker_id)
    ]
    until(lambda: graph.breakpoints == ["double"])
    send(graph, {"type": "toggle_breakpoint", "routine_id": "double"})
    assert rt.monitor.breakpoints.list() == []
    until(lambda: graph.breakpoints == [])


def test_flow_graph_redraws_when_routines_change(rt, closing):
    flow = chain()
    worker = rt.start(flow)
    graph = closing(live.flow_graph(worker))

    @flow.routine(slots=["input"], events=[])
    def audit(input, ctx):
        pass

    flow.connect("double.output", "audit.input")
    until(lambda: "audit" in graph.routines)
    assert "audit" in graph.graph_layout["nodes"]


def test_queue_gauges_move_under_load(rt, closing):
    gate, busy = threading.Event(), threading.Event()
    flow = rx.Flow("queued")

    @flow.routine(slots=["input"], events=["output"])
    def source(input, ctx):
        ctx.emit("output", value=0)
        busy.wait(WAIT)  # slow is running: what follows waits in its queue
        for i in range(1, input[0]["n"]):
            ctx.emit("output", value=i)

    @flow.routine(slots=["input"], events=[])
    def slow(input, ctx):
        busy.set()
        gate.wait(WAIT)

    flow.connect("source.output", "slow.input")
    worker = rt.start(flow)
    gauges = closing(live.queue_gauges(worker))
    job = worker.submit("source", "input", {"n": 50})
    try:
        until(lambda: gauges.queues.get("slow", {}).get("input", {}).get("unconsumed_count"))
    finally:
        gate.set()
    job.wait(WAIT)
    until(lambda: gauges.queues["slow"]["input"]["unconsumed_count"] == 0)
    assert max(gauges.history["slow.input"]) >= 1


def test_trace_table_fills_incrementally_in_order(rt, closing):
    worker = rt.start(chain())
    table = closing(live.trace_table(worker, max_rows=500))
    first = worker.submit("source", "input", {"n": 2}).wait(WAIT)
    until(lambda: any(r["event_type"] == "job_end" for r in table.rows))
    second = worker.submit("source", "input", {"n": 2}).wait(WAIT)
    until(lambda: sum(r["event_type"] == "job_end" for r in table.rows) == 2)
    seqs = [r["seq"] for r in table.rows]
    assert seqs == sorted(seqs, reverse=True)  # newest first
    assert len(seqs) == len(set(seqs))  # each event once
    expected = {r[0] for r in first.trace.records()} | {r[0] for r in second.trace.records()}
    assert set(seqs) == expected


def test_trace_table_of_one_job_is_bounded(rt, closing):
    worker = rt.start(chain())
    job = worker.submit("source", "input", {"n": 50})
    table = closing(live.trace_table(job, max_rows=20))
    job.wait(WAIT)
    until(lambda: table.rows and table.rows[0]["event_type"] == "job_end")
    assert len(table.rows) == 20
    assert {r["job_id"] for r in table.rows} == {job.job_id}


def test_job_progress_tracks_jobs(rt, closing):
    gate = threading.Event()
    worker = rt.start(chain(gate=gate))
    progress = closing(live.job_progress(worker))
    job = worker.submit("source", "input", {"n": 3})
    until(lambda: progress.jobs.get(job.job_id, {}).get("status") == "running")
    gate.set()
    job.wait(WAIT)
    until(lambda: progress.jobs[job.job_id]["status"] == "completed")
    assert progress.jobs[job.job_id]["routine_counts"]["sink"] >= 1


def test_debugger_resume_button_finishes_a_paused_job(rt, closing):
    worker = rt.start(chain())
    rt.monitor.add_breakpoint("routine", "double", worker=worker)
    job = worker.submit("source", "input", {"n": 2})
    view = closing(live.debugger(job))
    assert isinstance(view, Debugger)
    until(lambda: view.paused)
    assert view.state["location"]["routine_id"] == "double"
    assert view.state["variables"]["payload"]
    rt.monitor.breakpoints.clear()
    send(view, {"type": "action", "action": "resume"})
    assert view.message == "resume: done"
    job.wait(WAIT)
    assert job.status == "completed"
    until(lambda: view.state.get("status") == "completed")


def test_debugger_step_over_pauses_at_the_next_activation(rt, closing):
    worker = rt.start(chain())
    bp = rt.monitor.add_breakpoint("routine", "double", worker=worker)
    job = worker.submit("source", "input", {"n": 1})
    view = closing(live.debugger(job))
    until(lambda: view.paused)
    rt.monitor.remove_breakpoint(bp.breakpoint_id)
    send(view, {"type": "action", "action": "step_over"})
    until(lambda: view.paused and view.state["location"]["routine_id"] == "sink")
    send(view, {"type": "action", "action": "resume"})
    assert job.wait(WAIT).data["out"] == [0]


def test_debugger_edit_then_resume(rt, closing):
    worker = rt.start(chain())
    bp = rt.monitor.add_breakpoint("routine", "double", worker=worker)
    job = worker.submit("source", "input", {"n": 1})
    view = closing(live.debugger(job))
    until(lambda: view.paused)
    rt.monitor.remove_breakpoint(bp.breakpoint_id)
    send(view, {"type": "set_variable", "name": "payload", "value": {"input": [{"value": 21}]}})
    assert view.message == "set payload: done"
    assert view.state["variables"]["payload"] == {"input": [{"value": 21}]}
    send(view, {"type": "action", "action": "resume"})
    assert job.wait(WAIT).data["out"] == [42]


def test_debugger_reports_engine_errors(rt, closing):
    worker = rt.start(chain())
    bp = rt.monitor.add_breakpoint("routine", "double", worker=worker)
    job = worker.submit("source", "input", {"n": 1})
    view = closing(live.debugger(job))
    until(lambda: view.paused)
    send(view, {"type": "set_variable", "name": "payload", "value": [1, 2]})
    assert view.message.startswith("set payload failed: ValueError")
    rt.monitor.remove_breakpoint(bp.breakpoint_id)
    send(view, {"type": "action", "action": "resume"})
    job.wait(WAIT)


def test_worker_debugger_follows_the_first_paused_job(rt, closing):
    worker = rt.start(chain())
    view = closing(live.debugger(worker))
    assert view.state == {}
    rt.monitor.add_breakpoint("routine", "double", worker=worker)
    job = worker.submit("source", "input", {"n": 1})
    until(lambda: view.paused and view.state["job_id"] == job.job_id)
    rt.monitor.breakpoints.clear()
    send(view, {"type": "action", "action": "resume"})
    job.wait(WAIT)
    until(lambda: view.state["status"] == "completed")


def test_dashboard_wires_every_view(rt, closing):
    worker = rt.start(chain())
    rt.monitor.add_breakpoint("routine", "double", worker=worker)
    board = closing(rx.dashboard(worker))
    assert isinstance(board, Dashboard)
    job = worker.submit("source", "input", {"n": 2})
    until(lambda: board.debugger.paused)
    assert board.tabs.selected_index == 3  # the Debugger tab comes forward
    until(lambda: board.flow_graph.status.get("double", {}).get("status") == "paused")
    assert board.flow_graph.breakpoints == ["double"]
    assert board.job_progress.jobs[job.job_id]["status"] == "paused"
    until(lambda: any(r["event_type"] == "breakpoint_hit" for r in board.trace_table.rows))
    send(board.flow_graph, {"type": "toggle_breakpoint", "routine_id": "double"})
    assert rt.monitor.breakpoints.list() == []
    send(board.debugger, {"type": "action", "action": "resume"})
    job.wait(WAIT)
    until(lambda: board.job_progress.jobs[job.job_id]["status"] == "completed")
    until(lambda: board.flow_graph.breakpoints == [])


def test_flow_target_uses_the_flows_running_worker(rt, closing):
    flow = chain()
    worker = rt.start(flow)
    graph = closing(live.flow_graph(flow, runtime=rt))
    assert live.binding_of(graph).worker is worker
    assert live.note_of(graph) is None
    worker.submit("source", "input", {"n": 1}).wait(WAIT)
    until(lambda: graph.status.get("sink", {}).get("execution_count") == 1)


@pytest.mark.parametrize("make", [live.flow_graph, live.dashboard, live.trace_table])
def test_a_view_of_a_flow_without_worker_starts_none_and_attaches_later(rt, closing, make, capsys):
    flow = chain()
    view = closing(make(flow, runtime=rt))
    assert rt.workers == {}
    assert live.binding_of(view) is None
    note = live.note_of(view)
    assert "No worker runs flow 'live' yet" in note and "rt.start(flow)" in note
    assert note in capsys.readouterr().out
    worker = rt.start(flow)
    until(lambda: live.binding_of(view) is not None)
    assert live.binding_of(view).worker is worker
    assert list(rt.workers) == [worker.worker_id]
    job = worker.submit("source", "input", {"n": 2}).wait(WAIT)
    if isinstance(view, FlowGraph):
        until(lambda: view.status.get("sink", {}).get("execution_count", 0) >= 1)
    elif isinstance(view, Dashboard):
        until(lambda: view.job_progress.jobs.get(job.job_id, {}).get("status") == "completed")
    else:
        until(lambda: any(r["job_id"] == job.job_id for r in view.rows))


def test_a_view_closed_before_any_worker_never_attaches(rt):
    flow = chain()
    graph = live.flow_graph(flow, runtime=rt)
    watcher = watcher_for(rt)
    graph.close()
    until(lambda: watcher._thread is None)
    rt.start(flow)
    assert live.binding_of(graph) is None
    assert stream_count(rt) == 0


def test_a_flow_with_several_workers_says_which_it_shows_and_lets_the_user_pick(rt, closing):
    flow = chain()
    first = rt.start(flow, worker_id="w-a")
    second = rt.start(flow, worker_id="w-b")
    board = closing(live.dashboard(flow, runtime=rt))
    assert live.binding_of(board).worker is first
    note = live.note_of(board)
    assert "2 running workers ('w-a', 'w-b')" in note
    assert "shows 'w-a'" in note and "rx.dashboard(flow, worker='w-b')" in note
    picked = closing(live.dashboard(flow, runtime=rt, worker="w-b"))
    assert live.binding_of(picked).worker is second and live.note_of(picked) is None
    other = rt.start(chain("other"), worker_id="w-other")
    with pytest.raises(ValueError, match="'w-other' runs flow 'other', not 'live'"):
        live.flow_graph(flow, runtime=rt, worker=other)


def test_a_job_end_reaches_the_views_at_once_whatever_the_rate(rt, closing):
    worker = rt.start(chain())
    board = closing(live.dashboard(worker, max_rate_hz=0.1))  # one update per 10 s at most
    until(lambda: live.binding_of(board).updates >= 1)
    job = worker.submit("source", "input", {"n": 1}).wait(WAIT)
    until(lambda: board.job_progress.jobs.get(job.job_id, {}).get("status") == "completed")


def test_shutdown_sends_every_view_its_last_state(monkeypatch):
    runtime = rx.Runtime()
    worker = runtime.start(chain())
    views = [live.dashboard(worker, max_rate_hz=0.1), live.job_progress(worker, max_rate_hz=0.1)]
    for view in views:  # only the shutdown may deliver: no forced update at the job's end
        binding = live.binding_of(view)
        assert binding.updates >= 1  # the current state, delivered when the view was made
        monkeypatch.setattr(binding, "refresh", lambda: None)
    jobs = [worker.submit("source", "input", {"n": 1}).wait(WAIT) for _ in range(3)]
    runtime.shutdown()
    for progress in (views[0].job_progress, views[1]):
        until(lambda p=progress: {j.job_id for j in jobs} <= set(p.jobs))
        assert {p["status"] for p in progress.jobs.values()} == {"completed"}
    until(lambda: all(live.binding_of(v).closed for v in views))
    assert watcher_for(runtime).flushes == 2
    for view in views:
        view.close()


def test_bad_target():
    with pytest.raises(TypeError, match="Worker, a JobContext or a Flow"):
        live.flow_graph("nope")  # type: ignore[arg-type]


def test_top_level_names_are_the_live_functions():
    assert rx.dashboard is live.dashboard
    assert rx.debugger is live.debugger
    assert rx.flow_graph is live.flow_graph
    assert rx.trace_table is live.trace_table
    assert rx.queue_gauges is live.queue_gauges
    assert rx.job_progress is live.job_progress
    with pytest.raises(AttributeError):
        rx.not_a_view  # noqa: B018


@pytest.mark.parametrize(
    "make",
    [
        live.flow_graph,
        live.queue_gauges,
        live.job_progress,
        live.trace_table,
        live.debugger,
        live.dashboard,
    ],
)
def test_close_releases_the_stream(rt, make):
    worker = rt.start(chain())
    before = stream_count(rt)
    widget = make(worker)
    assert stream_count(rt) == before + 1
    widget.close()
    assert stream_count(rt) == before
    assert live.binding_of(widget).closed
    widget.close()  # idempotent


def test_dashboard_close_closes_its_children(rt):
    board = live.dashboard(rt.start(chain()))
    board.close()
    assert board.flow_graph.comm is None and board.debugger.comm is None


def test_updates_keep_coming_at_most_ten_a_second_under_heavy_load(rt, closing):
    """Event-driven: wait for a run of updates, then check the gaps between them.

    The stream schedules the next update ``1 / max_rate_hz`` after the end of the last one,
    so no two updates are closer than 0.1 s however busy the engine or slow the machine.
    """
    flow = rx.Flow("busy")
    stop = threading.Event()

    @flow.routine(slots=["input"], events=["output"])
    def pump(input, ctx):
        while not stop.is_set():
            for i in range(200):
                ctx.emit("output", i=i)

    @flow.routine(slots=["input"], events=[])
    def count(input, ctx):
        ctx.data["n"] = ctx.data.get("n", 0) + len(input)

    flow.connect("pump.output", "count.input")
    worker = rt.start(flow)
    board = closing(live.dashboard(worker))
    calls: list[float] = []
    enough = threading.Event()
    apply = board.flow_graph.apply_snapshot

    def counting(snapshot: dict[str, Any]) -> list[str]:
        calls.append(time.monotonic())
        if len(calls) >= 10:
            enough.set()
        return apply(snapshot)

    job = worker.submit("pump", "input", {})
    try:
        until(lambda: job.trace.total > 1000)
        board.flow_graph.apply_snapshot = counting  # type: ignore[method-assign]
        assert enough.wait(30), f"only {len(calls)} updates while the job was busy"
        first = calls[:10]
        gaps = [b - a for a, b in zip(first, first[1:], strict=False)]
        events = job.trace.total
    finally:
        stop.set()
    job.wait(WAIT)
    assert min(gaps) >= 0.095, gaps
    assert events > 1000
    until(lambda: board.job_progress.jobs[job.job_id]["status"] == "completed")


def test_a_view_starts_from_the_current_state_and_its_picture_shows_it(rt, closing):
    worker = rt.start(chain())
    rt.monitor.add_breakpoint("routine", "double", worker=worker)
    job = worker.submit("source", "input", {"n": 1})
    assert job.debug.wait_paused(WAIT)
    view = closing(live.debugger(job))
    assert view.paused  # no wait: the state is delivered when the view is made
    html, png = view.picture()
    assert "paused" in html and "double" in html and png
    job.debug.resume()
    assert job.wait(WAIT).status == "completed"
    until(lambda: not view.paused)


def test_a_change_nobody_was_waiting_for_is_still_seen():
    """A job that ends while the watcher is between two waits must still reach the views."""
    from routilux_nb.monitor.state import Changed

    changed = Changed()
    seen = changed.generation
    changed.notify_changed()  # nobody inside ``with changed:``: no notify, but the change counts
    with changed:
        assert changed.generation != seen
