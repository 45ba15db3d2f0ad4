""" "Fork from here" in the live widgets: the editor's messages, validation and the job list link."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import routilux_nb as rx
from routilux_nb.notebook import live
from routilux_nb.notebook.fork_views import Lineage
from routilux_nb.notebook.widgets import Debugger, TraceTable
from routilux_nb.notebook.widgets._fork import check_fork_json


def failing_chain(flow_id: str = "forkui") -> rx.Flow:
    """``source -> scale -> sink``; ``scale`` fails on a negative ``x`` unless data says skip."""
    flow = rx.Flow(flow_id)

    @flow.routine(slots=["input"], events=["output"])
    def source(input, ctx):
        return [{"x": item["x"]} for item in input]

    @flow.routine(slots=["input"], events=["output"])
    def scale(input, ctx):
        factor = ctx.data.get("factor", 10)
        for item in input:
            if item["x"] < 0:
                raise ValueError(f"negative x: {item['x']}")
        return [{"x": item["x"] * factor} for item in input]

    @flow.routine(slots=["input"], events=[])
    def sink(input, ctx):
        ctx.data.setdefault("out", []).extend(item["x"] for item in input)

    flow.connect("source.output", "scale.input")
    flow.connect("scale.output", "sink.input")
    return flow


@pytest.fixture
def srt() -> Iterator[rx.Runtime]:
    runtime = rx.Runtime(record_steps=True)
    yield runtime
    runtime.shutdown()


@pytest.fixture
def closing() -> Iterator[Callable[[Any], Any]]:
    made: list[Any] = []
    yield lambda w: made.append(w) or w
    for w in made:
        w.close()


def send(widget: Any, content: dict[str, Any]) -> None:
    """Deliver a custom message as the front end would."""
    widget._handle_custom_msg(content, [])


def routine_start_seq(job: Any, routine: str) -> int:
    trace = job.trace.to_pandas()
    rows = trace[(trace.routine_id == routine) & (trace.event_type == "routine_start")]
    return int(rows.seq.iloc[0])


@pytest.fixture
def failed(srt, wait_until):
    """A worker whose first job failed in ``scale``, with a dashboard on it."""
    worker = srt.start(failing_chain())
    job = worker.submit({"x": -2}).wait(5)
    assert job.status == "failed"
    return worker, job


def test_trace_table_opens_the_step_and_forks_with_edited_json(srt, failed, closing, wait_until):
    worker, job = failed
    board = closing(live.dashboard(worker))
    table = board.trace_table
    assert table.fork_enabled and board.debugger.fork_enabled
    seq = routine_start_seq(job, "scale")
    send(table, {"type": "fork_open", "job_id": job.job_id, "seq": seq, "id": "c1"})
    editor = table.fork_editor
    assert editor["open"] and editor["phase"] == "editing"
    assert editor["routine"] == "scale" and editor["slots"] == ["input"]
    assert editor["step"] == job.step(seq=seq).step and editor["seq"] == seq
    assert json.loads(editor["inputs"]) == {"input": [{"x": -2}]}
    assert json.loads(editor["data"]) == {}

    edited = json.dumps({"input": [{"x": 4}]})
    send(table, {"type": "fork", "inputs": edited, "data": '{"factor": 3}', "id": "c2"})
    editor = table.fork_editor
    assert editor["phase"] == "started", editor["message"]
    new = srt.get_job(editor["new_job_id"]).wait(5)
    assert new.status == "completed" and new.data == {"factor": 3, "out": [12]}
    assert new.metadata["forked_from"] == job.job_id
    assert new.metadata["forked_step"] == editor["step"]
    assert f"forked from {job.job_id} at step {editor['step']}" in editor["message"]
    assert editor["inputs"] == edited  # what the user sent stays in the editor
    # the job list links the fork to its origin
    line = wait_until(lambda: board.job_progress.jobs.get(new.job_id, {}).get("forked_from"))
    assert line == job.job_id
    assert board.job_progress.jobs[new.job_id]["forked_step"] == editor["step"]
    assert "forked_from" not in board.job_progress.jobs[job.job_id]


def test_unedited_fields_fork_with_the_recorded_values(srt, failed, closing):
    worker, job = failed
    table = closing(live.trace_table(worker))
    send(table, {"type": "fork_open", "job_id": job.job_id, "seq": routine_start_seq(job, "scale")})
    editor = table.fork_editor
    send(table, {"type": "fork", "inputs": editor["inputs"], "data": editor["data"]})
    new = srt.get_job(table.fork_editor["new_job_id"]).wait(5)
    assert new.status == "failed" and "negative x: -2" in new.error  # same input, same bug
    assert list(new.steps.routine) == ["scale"]  # the source did not run again


@pytest.mark.parametrize(
    ("inputs", "data", "said"),
    [
        ("{not json", "{}", "inputs: invalid JSON"),
        ('{"input": [{"x": 1}]}', "[1, 2", "data: invalid JSON"),
        (
            "[1, 2]",
            "{}",
            "inputs must be a JSON object {slot: [items]} with slots of routine 'scale'",
        ),
        ('{"nope": [{"x": 1}]}', "{}", "routine 'scale' has no slot 'nope'; its slots: input"),
        ('{"input": {"x": 1}}', "{}", "inputs['input'] must be a list of items"),
        (
            '{"input": [1]}',
            "{}",
            "inputs['input'][0] must be an item (a JSON object), not a number",
        ),
        ('{"input": []}', "{}", "inputs hold no item"),
        (
            '{"input": [{"x": 1}]}',
            '"text"',
            "data must be a JSON object (the job's data), not a string",
        ),
    ],
)
def test_bad_json_or_shape_is_shown_in_the_widget_and_starts_nothing(
    srt, failed, closing, inputs, data, said
):
    worker, job = failed
    table = closing(live.trace_table(worker))
    send(table, {"type": "fork_open", "job_id": job.job_id, "seq": routine_start_seq(job, "scale")})
    before = len(srt.jobs())
    send(table, {"type": "fork", "inputs": inputs, "data": data, "id": "bad"})
    editor = table.fork_editor
    assert editor["phase"] == "invalid"
    assert said in editor["message"]
    assert "new_job_id" not in editor
    assert editor["inputs"] == inputs and editor["data"] == data  # the user's text is kept
    assert len(srt.jobs()) == before  # nothing started


def test_a_refused_fork_then_a_good_one_keeps_every_edit(srt, failed, closing):
    worker, job = failed
    table = closing(live.trace_table(worker))
    send(table, {"type": "fork_open", "job_id": job.job_id, "seq": routine_start_seq(job, "scale")})
    recorded = table.fork_editor["data"]
    send(table, {"type": "fork", "inputs": '{"nope": [{"x": 4}]}', "data": '{"factor": 3}'})
    assert table.fork_editor["phase"] == "invalid"
    assert table.fork_editor["data"] == '{"factor": 3}'
    # the data text is sent again as it is now shown: still an edit of the recorded data
    send(table, {"type": "fork", "inputs": '{"input": [{"x": 4}]}', "data": '{"factor": 3}'})
    new = srt.get_job(table.fork_editor["new_job_id"]).wait(5)
    assert new.data == {"factor": 3, "out": [12]}
    # a field put back as it was recorded forks with the recorded value
    send(table, {"type": "fork", "inputs": '{"input": [{"x": 4}]}', "data": recorded})
    assert table.fork_editor["data"] == recorded
    again = srt.get_job(table.fork_editor["new_job_id"]).wait(5)
    assert again.data == {"out": [40]}


def test_rows_without_a_recorded_step_and_unwired_views_say_why(srt, closing):
    worker = srt.start(failing_chain("norec"))
    job = worker.submit({"x": 1}).wait(5)
    table = closing(live.trace_table(worker))
    trace = job.trace.to_pandas()
    send(table, {"type": "fork_open", "job_id": job.job_id, "seq": int(trace.seq.max()) + 100})
    assert table.fork_editor["phase"] == "failed"
    assert "cannot fork: StepNotFound" in table.fork_editor["message"]
    send(table, {"type": "fork_open", "job_id": "job-gone", "seq": 1})
    assert "job 'job-gone' is not in this runtime" in table.fork_editor["message"]
    send(table, {"type": "fork", "inputs": "{}", "data": "{}"})
    assert table.fork_editor["message"] == "fork: open a step first"
    plain = TraceTable()
    assert not plain.fork_enabled
    send(plain, {"type": "fork_open", "job_id": job.job_id, "seq": 1})
    assert plain.fork_editor["message"] == "fork: this view is not linked to a runtime"
    send(table, {"type": "fork_close"})
    assert table.fork_editor == {}


def test_without_recording_the_trace_table_offers_no_fork(closing):
    runtime = rx.Runtime()
    try:
        worker = runtime.start(failing_chain("off"))
        table = closing(live.trace_table(worker))
        debugger = closing(live.debugger(worker))
        assert not table.fork_enabled
        assert debugger.fork_enabled  # a parked activation needs no recording
    finally:
        runtime.shutdown()


def test_debugger_forks_from_the_parked_activation(srt, closing, wait_until):
    worker = srt.start(failing_chain("parked"))
    srt.monitor.add_breakpoint("routine", "scale", worker=worker)
    job = worker.submit({"x": 5})
    assert job.debug.wait_paused(5)
    debugger = closing(live.debugger(worker))
    wait_until(lambda: debugger.paused)
    stale = {"job_id": job.job_id, "location": {"routine_id": "sink"}}
    send(debugger, {"type": "fork_open", "job_id": job.job_id, "at": stale})
    assert "the job moved on since the click" in debugger.fork_editor["message"]
    send(debugger, {"type": "fork_open", "job_id": job.job_id, "at": debugger.state})
    editor = debugger.fork_editor
    assert editor["phase"] == "editing" and editor["status"] == "parked", editor
    assert json.loads(editor["inputs"]) == {"input": [{"x": 5}]}
    srt.monitor.remove_breakpoint(srt.monitor.breakpoints.list()[0].breakpoint_id)
    send(debugger, {"type": "fork", "inputs": editor["inputs"], "data": '{"factor": 7}'})
    assert debugger.fork_editor["phase"] == "started", debugger.fork_editor["message"]
    new = srt.get_job(debugger.fork_editor["new_job_id"]).wait(5)
    assert new.data["out"] == [35] and new.metadata["forked_from"] == job.job_id
    job.debug.resume()
    assert job.wait(5).data["out"] == [50]


def test_not_paused_debugger_refuses_to_fork(closing):
    debugger = Debugger(state={"job_id": "j", "status": "completed"})
    debugger.enable_fork(lambda *a, **k: {}, lambda *a: "x")
    send(debugger, {"type": "fork_open", "job_id": "j"})
    assert "the job is not paused" in debugger.fork_editor["message"]


def test_lineage_extends_job_summaries_once_per_job(srt, failed):
    worker, job = failed
    fork = job.fork(data={"factor": 1}, inputs={"input": [{"x": 1}]}).wait(5)
    lineage = Lineage(srt)
    snapshot = {"jobs": {job.job_id: {"job_id": job.job_id}, fork.job_id: {"job_id": fork.job_id}}}
    out = lineage(snapshot)  # type: ignore[arg-type]
    assert out["jobs"][fork.job_id]["forked_from"] == job.job_id
    assert out["jobs"][fork.job_id]["forked_step"] == fork.metadata["forked_step"]
    assert "forked_from" not in out["jobs"][job.job_id]
    assert "forked_from" not in snapshot["jobs"][fork.job_id]  # the input is not changed
    assert lineage({"jobs": {}}) == {"jobs": {}}  # type: ignore[arg-type]


def test_check_fork_json_accepts_unedited_fields():
    assert check_fork_json(None, None, "r", ["a"]) == (None, None)
    assert check_fork_json('{"a": [{"v": 1.0}]}', None, "r", ["a"]) == ({"a": [{"v": 1.0}]}, None)


def test_the_bundled_module_has_the_fork_editor_and_one_default_export():
    for widget in (TraceTable(), Debugger()):
        assert "function forkPanel(" in widget._esm
        assert widget._esm.count("export default") == 1
        assert ".rnb-fork " in widget._css


def test_fork_clicks_reach_the_trace_table_through_the_loopback_endpoint(
    srt, failed, closing, monkeypatch
):
    """Where comm messages wait for a blocked cell, the page posts the click to the kernel's
    loopback endpoint: the trace table gets the ``_direct`` trait and handles the fork there."""
    from routilux_nb.notebook.widgets import _endpoint as ep_mod

    endpoint = ep_mod.ClickEndpoint()
    monkeypatch.setattr(ep_mod, "_endpoint", endpoint)
    monkeypatch.setattr(ep_mod, "_in_kernel", lambda: True)
    try:
        worker, job = failed
        table = closing(live.trace_table(worker))
        assert table._direct["port"] == endpoint.port and endpoint.widget(table.model_id) is table
        headers = {"X-Routilux-Token": endpoint.token, "Content-Type": "application/json"}
        seq = routine_start_seq(job, "scale")

        def click(content: dict[str, Any]) -> dict[str, Any]:
            conn = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=10)
            body = json.dumps({"model_id": table.model_id, "content": content})
            conn.request("POST", ep_mod.PATH, body=body, headers=headers)
            answer = json.loads(conn.getresponse().read())
            conn.close()
            return answer

        opened = click({"type": "fork_open", "job_id": job.job_id, "seq": seq, "id": "h-1"})
        assert opened["ok"] and table.fork_editor["routine"] == "scale"
        answer = click({"type": "fork", "inputs": '{"input": [{"x": 1}]}', "id": "h-2"})
        assert answer["ok"] and "started job" in answer["text"]
        assert click({"type": "fork", "inputs": '{"input": [{"x": 1}]}', "id": "h-2"})["duplicate"]
        new = srt.get_job(table.fork_editor["new_job_id"]).wait(5)
        assert new.data == {"out": [10]}
        assert len([j for j in srt.jobs() if j.metadata.get("forked_from") == job.job_id]) == 1
    finally:
        endpoint.stop()


def test_a_field_too_large_to_edit_is_left_out_and_forks_with_the_recorded_value(
    srt, failed, closing, monkeypatch
):
    from routilux_nb.notebook.widgets import _fork

    monkeypatch.setattr(_fork, "MAX_EDIT_CHARS", 20)
    worker, job = failed
    table = closing(live.trace_table(worker))
    send(table, {"type": "fork_open", "job_id": job.job_id, "seq": routine_start_seq(job, "scale")})
    editor = table.fork_editor
    assert editor["inputs"] is None and editor["too_large"] == ["inputs"]
    assert editor["data"] == "{}"
    assert "too large to edit here: inputs (" in editor["message"]
    # even if a page sent inputs, the recorded ones are used
    send(table, {"type": "fork", "inputs": '{"input": [{"x": 1}]}', "data": '{"factor": 1}'})
    new = srt.get_job(table.fork_editor["new_job_id"]).wait(5)
    assert new.status == "failed" and "negative x: -2" in new.error


def test_the_job_list_view_alone_links_forks_too(srt, failed, closing, wait_until):
    worker, job = failed
    jobs = closing(live.job_progress(worker))
    fork = job.fork(inputs={"input": [{"x": 1}]}).wait(5)
    origin = wait_until(lambda: jobs.jobs.get(fork.job_id, {}).get("forked_from"))
    assert origin == job.job_id
    assert jobs.jobs[fork.job_id]["forked_step"] == job.step().step
