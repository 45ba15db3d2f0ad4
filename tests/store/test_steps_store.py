"""Recorded steps kept with finished jobs in SQLite: forking works after a restart."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import routilux_nb  # noqa: F401  (registers the store opener)
from routilux_nb.core import Flow, JobStateError, Runtime, StepDropped, StepLimits
from routilux_nb.store import SQLiteJobStore, StoredJob

REPO = Path(__file__).resolve().parents[2]

FLOW_SOURCE = """
from routilux_nb.core import Flow

def make_flow(calls, fixed):
    flow = Flow("durable_steps")

    @flow.routine(slots=["input"], events=["output"])
    def source(input, ctx):
        calls.append("source")
        ctx.data["rows"] = len(input)
        return [{"x": i["x"] + 1} for i in input]

    @flow.routine(slots=["input"], events=[])
    def sink(input, ctx):
        calls.append("sink")
        if not fixed:
            raise RuntimeError("sink is broken")
        ctx.data["out"] = [i["x"] * 100 for i in input]

    flow.connect("source.output", "sink.input")
    return flow
"""


def make_flow(calls: list[str], fixed: bool) -> Flow:
    namespace: dict = {}
    exec(FLOW_SOURCE, namespace)  # the same definition the first process ran
    return namespace["make_flow"](calls, fixed)  # type: ignore[no-any-return]


def test_fork_from_the_failed_step_after_a_process_restart(tmp_path: Path) -> None:
    db = tmp_path / "jobs.db"
    first = textwrap.dedent(
        f"""
        import routilux_nb
        from routilux_nb.core import Runtime
        {textwrap.indent(FLOW_SOURCE, "        ").strip()}
        rt = Runtime(store={str(db)!r}, record_steps=True)
        job = rt.submit(make_flow([], fixed=False), {{"x": 1}}).wait(10)
        assert job.status == "failed", job.status
        print(job.job_id)
        rt.shutdown()
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", first],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    job_id = done.stdout.strip().splitlines()[-1]

    calls: list[str] = []
    rt = Runtime(store=db, record_steps=True)
    try:
        rt.start(make_flow(calls, fixed=True))  # the fixed code, as a re-run notebook defines it
        stored = rt.get_job(job_id)
        assert isinstance(stored, StoredJob) and stored.status == "failed"
        frame = stored.steps
        assert frame.routine.tolist() == ["source", "sink"]
        assert frame.status.tolist() == ["completed", "failed"]
        assert frame.error.iloc[1] == "RuntimeError: sink is broken"
        sink = stored.step(int(frame.step.iloc[1]))
        assert sink.inputs == {"input": [{"x": 2}]} and sink.data == {"rows": 1}

        fixed = stored.fork().wait(10)  # the failed step
        assert fixed.status == "completed" and fixed.data == {"rows": 1, "out": [200]}
        assert calls == ["sink"]  # the source did not run again
        assert fixed.metadata["forked_from"] == job_id

        again = rt.fork(job_id, int(frame.step.iloc[1]), inputs={"input": [{"x": 5}]}).wait(10)
        assert again.data["out"] == [500]
        cmp = rt.compare(job_id, fixed.job_id)
        assert ("data", None, "out") in {(r["kind"], r["routine"], r["key"]) for r in cmp.rows}
    finally:
        rt.shutdown()


def test_steps_are_stored_within_the_cap_and_a_dropped_step_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "jobs.db"
    rt = Runtime(store=db, record_steps=StepLimits(max_steps=1))
    try:
        job = rt.submit(make_flow([], fixed=True), {"x": 1}).wait(10)
        dropped = job.step_log.dropped_step
    finally:
        rt.shutdown()
    rt = Runtime(store=db, record_steps=True)
    try:
        rt.start(make_flow([], fixed=True))
        stored = rt.get_job(job.job_id)
        frame = stored.steps
        assert frame.routine.tolist() == ["sink"] and frame.attrs["dropped"] == 1
        assert frame.attrs["max_steps"] == 1  # the cap it was recorded with
        with pytest.raises(StepDropped, match="max_steps=1"):
            stored.fork(dropped)
    finally:
        rt.shutdown()


def test_values_json_cannot_hold_do_not_stop_the_job_or_its_steps(tmp_path: Path) -> None:
    db = tmp_path / "jobs.db"
    flow = Flow("odd_values")

    @flow.routine(slots=["input"], events=[])
    def keep(input, ctx):
        ctx.data["seen"] = input[0]["x"]

    rt = Runtime(store=db, record_steps=True)
    try:
        job = rt.submit(flow, {"x": 1}, job_data={"odd": {1, 2}, "obj": object()}).wait(10)
        assert job.status == "completed"
    finally:
        rt.shutdown()
    with SQLiteJobStore(db) as store:
        log = store.load_steps(job.job_id)
        assert log is not None and len(log) == 1
        step = log.list()[0]
        assert step.inputs == {"input": [{"x": 1}]}
        assert step.data["odd"] == [1, 2] and step.data["obj"].startswith("<object")


def test_nothing_is_stored_without_recording_and_old_files_read_fine(tmp_path: Path) -> None:
    db = tmp_path / "jobs.db"
    rt = Runtime(store=db)
    try:
        job = rt.submit(make_flow([], fixed=True), {"x": 1}).wait(10)
    finally:
        rt.shutdown()
    with sqlite3.connect(db) as conn:  # a file that never stored steps has no table for them
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "job_steps" not in tables
    rt = Runtime(store=db, record_steps=True)
    try:
        rt.start(make_flow([], fixed=True))
        stored = rt.get_job(job.job_id)
        assert stored.step_log is None
        with pytest.raises(JobStateError, match="record_steps=True"):
            stored.fork(1)
    finally:
        rt.shutdown()
