"""Write-through: every job transition reaches SQLite; a crash loses only the last moments;
a new process lists the old jobs, shows interrupted ones honestly and can retry them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import routilux_nb  # noqa: F401  (registers the builtins, the monitor and the store opener)
from routilux_nb.core import Flow, JobStateError, Runtime
from routilux_nb.store import SQLiteJobStore, StoredJob

REPO = Path(__file__).resolve().parents[2]


def gated_flow(gate: threading.Event) -> Flow:
    flow = Flow("gated")

    @flow.routine(slots=["input"], events=[])
    def hold(input, ctx):
        assert gate.wait(20), "gate never opened"
        ctx.data["n"] = input[0]["n"]

    return flow


def wait_until(predicate: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.005)
    return value


def test_every_transition_reaches_the_store_while_the_job_runs(tmp_path: Path) -> None:
    gate = threading.Event()
    rt = Runtime(store=tmp_path / "jobs.db")
    try:
        assert isinstance(rt.store, SQLiteJobStore) and rt.store_writer is not None
        job = rt.submit(gated_flow(gate), data={"n": 7})
        wait_until(lambda: job.status == "running")
        rt.store_writer.flush()
        stored = rt.store.get_job(job.job_id)
        assert stored is not None and stored.status == "running" and stored.started_at is not None
        assert (
            stored.data == {}
            and stored.entry == ["hold", "input"]
            and stored.entry_data == {"n": 7}
        )
        gate.set()
        job.wait(10)
        rt.store_writer.flush()
        final = rt.store.get_job(job.job_id)
        assert final.status == "completed" and final.data == {"n": 7}
        assert final.completed_at == pytest.approx(job.completed_at)
        stats = rt.store_writer.stats()
        assert stats["written"] >= 2 and stats["errors"] == 0  # created+running may coalesce
    finally:
        rt.shutdown()


def test_listing_pages_see_every_job_once_while_jobs_move_out_of_memory(tmp_path: Path) -> None:
    rt = Runtime(store=tmp_path / "jobs.db", max_finished_jobs=10)
    flow = Flow("many")

    @flow.routine(slots=["input"], events=[])
    def keep(input, ctx):
        ctx.data["i"] = input[0]["i"]

    try:
        jobs = [rt.submit(flow, data={"i": i}) for i in range(200)]
        seen: list[str] = []
        offset = 0
        while True:  # page while the jobs finish and leave memory
            page, total = rt.list_jobs(limit=7, offset=offset)
            if not page:
                break
            seen.extend(j.job_id for j in page)
            offset += 7
        assert total == 200
        assert len(seen) == len(set(seen)) == 200
        assert set(seen) == {j.job_id for j in jobs}
        for job in jobs:
            job.wait(10)
        page, total = rt.list_jobs(
            limit=1000, status=["completed"], sort_by="created_at", order="asc"
        )
        assert total == 200 and [j.job_id for j in page] == [j.job_id for j in jobs]
        assert all(rt.get_job(j.job_id).data == {"i": i} for i, j in enumerate(jobs))
    finally:
        rt.shutdown()


@pytest.mark.parametrize("with_store", [False, True])
def test_filters_and_sorting(tmp_path: Path, with_store: bool) -> None:
    # with a store, most of these jobs are read back from it (only 3 stay in memory)
    rt = Runtime(
        store=tmp_path / "jobs.db" if with_store else None,
        max_finished_jobs=3 if with_store else 100,
    )
    flow = Flow("sorted")

    @flow.routine(slots=["input"], events=[])
    def maybe_fail(input, ctx):
        if input[0]["fail"]:
            raise ValueError("no")

    try:
        jobs = []
        for i in range(6):
            jobs.append(rt.submit(flow, data={"fail": i % 2 == 1}).wait(10))
            time.sleep(0.002)  # distinct creation times
        mid = jobs[2].created_at
        after, total = rt.list_jobs(created_after=mid, order="asc")
        assert [j.job_id for j in after] == [j.job_id for j in jobs[3:]] and total == 3
        before, _ = rt.list_jobs(created_before=mid)
        assert [j.job_id for j in before] == [j.job_id for j in reversed(jobs[:2])]
        by_status, _ = rt.list_jobs(sort_by="status", order="asc")
        assert [j.status for j in by_status] == ["completed"] * 3 + ["failed"] * 3
        by_completion, _ = rt.list_jobs(sort_by="completed_at", order="desc", limit=2)
        assert [j.job_id for j in by_completion] == [jobs[5].job_id, jobs[4].job_id]
        with pytest.raises(ValueError, match="sort_by must be"):
            rt.list_jobs(sort_by="duration")
    finally:
        rt.shutdown()


_CHILD = textwrap.dedent("""
    import sys, threading, time
    import routilux_nb as rx
    from routilux_nb.core import Runtime
    rt = Runtime(store=sys.argv[1])
    flow = rx.Flow("crashy")
    gate = threading.Event()

    @flow.routine(slots=["input"], events=[])
    def work(input, ctx):
        if input[0].get("hang"):
            gate.wait()
        ctx.data["i"] = input[0]["i"]

    mode = sys.argv[2]
    if mode == "hang":
        job = rt.submit(flow, data={"i": 1, "hang": True}, job_id="stuck-job")
        while job.status != "running":
            time.sleep(0.01)
        rt.store_writer.flush()
        print("ready", flush=True)
        time.sleep(60)
    else:
        i = 0
        while True:
            job = rt.submit(flow, data={"i": i}).wait(10)
            print(job.job_id, repr(job.completed_at), flush=True)
            i += 1
""")


def _child(db: Path, mode: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(db), mode],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=str(REPO),
    )


def test_a_job_running_when_its_process_is_killed_is_shown_interrupted_and_can_be_retried(
    tmp_path: Path,
) -> None:
    db = tmp_path / "jobs.db"
    child = _child(db, "hang")
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    rt = Runtime(store=db)
    try:
        assert rt.interrupted_jobs == ["stuck-job"]
        job = rt.get_job("stuck-job")
        assert isinstance(job, StoredJob)
        assert job.status == "failed" and job.error_type == "Interrupted"
        assert job.error.startswith("interrupted: the runtime stopped while the job was running")
        page, total = rt.list_jobs()
        assert total == 1 and page[0].job_id == "stuck-job"
        flow = Flow("crashy")

        @flow.routine(slots=["input"], events=[])
        def work(input, ctx):
            ctx.data["i"] = input[0]["i"]

        with pytest.raises(JobStateError, match="does not know"):
            rt.retry_job("stuck-job")
        with pytest.raises(JobStateError, match="already exists"):
            rt.submit(flow, data={"i": 2}, job_id="stuck-job")  # the id stays taken
        again = rt.retry_job("stuck-job").wait(10)
        assert again.status == "completed" and again.data == {"i": 1}
        assert again.metadata["retry_of"] == "stuck-job"
    finally:
        rt.shutdown()


def kill_gaps(db: Path, trials: int, rng: Any) -> list[float]:
    """Kill a child that completes jobs non-stop at random moments; per trial, the age at the
    kill of the oldest completion the child reported that the store does not have (0: none lost)."""
    gaps = []
    for trial in range(trials):
        path = db.with_name(f"{db.stem}-{trial}.db")
        child = _child(path, "loop")
        assert child.stdout is not None
        reported: list[tuple[str, float]] = []

        def read(stream: Any = child.stdout, reported: list[tuple[str, float]] = reported) -> None:
            for line in stream:
                parts = line.split()
                if len(parts) == 2 and line.endswith(
                    "\n"
                ):  # a line cut by the kill is not a report
                    reported.append((parts[0], float(parts[1])))

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        deadline = time.monotonic() + 30
        while not reported and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.05, 0.6))
        child.send_signal(signal.SIGKILL)
        killed_at = time.time()
        child.wait(10)
        reader.join(10)
        assert reported, "the child completed no job"
        with SQLiteJobStore(path) as store:
            lost = [
                t
                for job_id, t in reported
                if (stored := store.get_job(job_id)) is None or stored.status != "completed"
            ]
        gaps.append(max((killed_at - t for t in lost), default=0.0))
    return gaps


def test_kill_9_loses_only_the_last_moments(tmp_path: Path) -> None:
    import random

    gaps = kill_gaps(tmp_path / "kill.db", trials=4, rng=random.Random(7))
    # the writer batches every 0.1 s: what is lost is recent (bound generous for a busy machine)
    assert max(gaps) < 1.0, gaps


def test_default_runtime_takes_a_store_and_a_rerun_returns_it(tmp_path: Path) -> None:
    db = tmp_path / "nb.db"
    script = textwrap.dedent(f"""
        import routilux_nb as rx
        rt = rx.runtime(store={str(db)!r})
        assert rx.runtime(store={str(db)!r}) is rt and rx.runtime() is rt
        try:
            rx.runtime(store="other.db")
        except Exception as exc:
            print(type(exc).__name__, "shutdown() first" in str(exc))
        flow = rx.Flow("daily")
        @flow.routine(slots=["input"], events=[])
        def keep(input, ctx):
            ctx.data["x"] = input[0]["x"]
        print(rt.submit(flow, data={{"x": 5}}).wait(10).job_id)
        rt.shutdown()
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    first = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(tmp_path),
        timeout=60,
    )
    assert first.returncode == 0, first.stderr
    lines = first.stdout.split("\n")
    assert lines[0] == "StateError True"
    job_id = lines[1]
    reopen = textwrap.dedent(f"""
        import routilux_nb as rx
        rt = rx.runtime(store={str(db)!r})
        job = rt.get_job({job_id!r})
        print(job.status, job.data["x"], rt.list_jobs()[1])
    """)
    second = subprocess.run(
        [sys.executable, "-c", reopen],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(tmp_path),
        timeout=60,
    )
    assert second.returncode == 0, second.stderr
    assert second.stdout.split() == ["completed", "5", "1"]
