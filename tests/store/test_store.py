"""Job stores keep what a real runtime evicts: SQLite (file and ``:memory:``) and memory."""

from __future__ import annotations

import dataclasses
import enum
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import routilux_nb  # noqa: F401  (registers the builtins and the monitor)
from routilux_nb.core import Flow, JobContext, JobStateError, Runtime, StateError
from routilux_nb.store import JobStore, MemoryJobStore, SQLiteJobStore, StoredJob


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.005)
    return value


def two_step_flow(flow_id: str) -> Flow:
    """``split -> collect``: ``split`` emits ``n % 4 + 1`` items; ``collect`` records each ``k``
    and raises for a job submitted with ``fail``."""
    flow = Flow(flow_id)

    @flow.routine(slots=["input"], events=["output"])
    def split(input, ctx):
        for item in input:
            for k in range(item["n"] % 4 + 1):
                ctx.emit("output", n=item["n"], k=k, fail=item["fail"])

    @flow.routine(slots=["input"], events=[])
    def collect(input, ctx):
        for item in input:
            if item["fail"]:
                raise ValueError(f"job {item['n']} refused")
            ctx.data.setdefault("seen", []).append(item["k"])
            ctx.data["n"] = item["n"]

    flow.connect("split.output", "collect.input")
    return flow


def stored_job(store: JobStore, job_id: str) -> StoredJob:
    job = store.get_job(job_id)
    assert job is not None, job_id
    return job


def record(
    job_id: str,
    created_at: float,
    *,
    flow_id: str = "f",
    worker_id: str = "w",
    status: str = "completed",
    **extra: Any,
) -> StoredJob:
    return StoredJob(
        job_id=job_id,
        worker_id=worker_id,
        flow_id=flow_id,
        status=status,
        created_at=created_at,
        completed_at=created_at + 0.5,
        **extra,
    )


@pytest.fixture(params=["memory", "sqlite"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    store = MemoryJobStore() if request.param == "memory" else SQLiteJobStore(tmp_path / "jobs.db")
    yield store
    store.close()


# -- a real runtime evicting into SQLite ---------------------------------------------------


def test_runtime_evicts_finished_jobs_into_sqlite_and_finds_them_again(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    store = SQLiteJobStore(path)
    rt = Runtime(max_finished_jobs=10, store=store)
    try:
        alpha, beta = two_step_flow("alpha"), two_step_flow("beta")
        for flow, wid in ((alpha, "a1"), (alpha, "a2"), (beta, "b1")):
            rt.start(flow, wid)
        handles: list[JobContext] = []
        for i in range(50):
            flow, wid = ((alpha, "a1"), (alpha, "a2"), (beta, "b1"))[i % 3]
            handles.append(
                rt.submit(
                    flow,
                    data={"n": i, "fail": i % 7 == 3},
                    worker_id=wid,
                    metadata={"i": i, "tag": "batch"},
                )
            )
        for job in handles:
            job.wait(10)
        # write-through: every job is in the store; memory keeps the newest 10 finished ones
        wait_until(lambda: store.count() == 50 and len(rt.jobs()) == 10)

        in_memory = {j.job_id for j in rt.jobs()}
        assert len(in_memory) == 10
        evicted = [j for j in handles if j.job_id not in in_memory]
        assert len(evicted) == 40
        for job in handles:
            found = rt.get_job(job.job_id)
            if job.job_id in in_memory:
                assert found is job
                continue
            assert isinstance(found, StoredJob) and found.is_finished
            assert found.to_dict() == job.to_dict()
            assert found.to_dict(include_data=False) == job.to_dict(include_data=False)
            assert (found.status, found.worker_id, found.flow_id) == (
                job.status,
                job.worker_id,
                job.flow_id,
            )
            assert found.duration == pytest.approx(job.duration)
            assert found.wait() is found
            n = job.metadata["i"]
            if n % 7 == 3:
                assert found.status == "failed"
                assert found.error is not None and f"job {n} refused" in found.error
                assert found.error_traceback is not None
                assert (
                    "Traceback" in found.error_traceback and "ValueError" in found.error_traceback
                )
                assert found.to_dict()["error_traceback"] == job.error_traceback
            else:
                assert found.status == "completed" and found.error is None
                assert found.data["n"] == n and sorted(found.data["seen"]) == list(range(n % 4 + 1))
        with pytest.raises(KeyError):
            rt.get_job("no-such-job")
    finally:
        rt.shutdown()
        store.close()

    # shutdown saved the 10 jobs still in memory as well
    expected = sorted(handles, key=lambda j: j.created_at, reverse=True)
    with SQLiteJobStore(path) as reopened:
        assert reopened.count() == 50
        jobs, total = reopened.list_jobs(limit=1000)
        assert total == 50
        assert [j.job_id for j in jobs] == [j.job_id for j in expected]
        assert [j.to_dict() for j in jobs] == [j.to_dict() for j in expected]

        def ids(**filters: Any) -> list[str]:
            page, total = reopened.list_jobs(limit=1000, **filters)
            assert total == len(page)
            return [j.job_id for j in page]

        def want(pred: Callable[[JobContext], bool]) -> list[str]:
            return [j.job_id for j in expected if pred(j)]

        assert ids(flow_id="beta") == want(lambda j: j.flow_id == "beta") != []
        assert ids(worker_id="a2") == want(lambda j: j.worker_id == "a2") != []
        assert ids(status="failed") == want(lambda j: j.status == "failed") != []
        assert ids(status=["failed", "completed"]) == [j.job_id for j in expected]
        assert ids(flow_id="alpha", status="completed") == want(
            lambda j: j.flow_id == "alpha" and j.status == "completed"
        )
        assert ids(flow_id="gamma") == []

        pages = [reopened.list_jobs(limit=7, offset=o) for o in range(0, 56, 7)]
        assert all(total == 50 for _, total in pages)
        assert [j.job_id for page, _ in pages for j in page] == [j.job_id for j in expected]
        assert reopened.list_jobs(limit=5, offset=100) == ([], 50)
        assert reopened.list_jobs(limit=0) == ([], 50)
        failed_page, failed_total = reopened.list_jobs(status="failed", limit=2, offset=1)
        assert [j.job_id for j in failed_page] == want(lambda j: j.status == "failed")[1:3]
        assert failed_total == len(want(lambda j: j.status == "failed"))

        stats = reopened.stats()
        assert stats["wal_mode"] is True and stats["jobs"] == 50 and stats["path"] == str(path)
        assert stats["database_size_bytes"] > 0


def test_database_file_is_in_wal_mode_and_rows_are_plain_json(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    with SQLiteJobStore(path) as store:
        store.save_job(record("j1", 100.0, data={"x": [1, 2]}))
        other = sqlite3.connect(path)  # another reader sees committed rows while it is open
        try:
            assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            (doc,) = other.execute("SELECT doc FROM jobs WHERE job_id = ?", ("j1",)).fetchone()
            assert json.loads(doc)["data"] == {"x": [1, 2]}
            names = {
                r[0] for r in other.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
            }
            assert {"jobs_created", "jobs_flow_created", "jobs_status_created"} <= names
        finally:
            other.close()


def test_pages_are_cut_on_an_index_never_a_full_table_scan() -> None:
    store = SQLiteJobStore(":memory:")
    for i in range(30):
        store.save_job(
            record(
                f"j{i}", float(i), flow_id=f"f{i % 2}", status=("failed", "completed")[i % 3 > 0]
            )
        )
    statements: list[str] = []
    conn = store._conn
    assert conn is not None
    conn.set_trace_callback(statements.append)
    for filters in (
        {},
        {"flow_id": "f1"},
        {"status": "failed"},
        {"worker_id": "w"},
        {"flow_id": "f0", "status": "completed"},
    ):
        store.list_jobs(limit=5, offset=3, **filters)
    conn.set_trace_callback(None)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 10
    for sql in selects:
        plan = [(row[1], row[3]) for row in conn.execute("EXPLAIN QUERY PLAN " + sql)]
        table_scans = [p for _, p in plan if p.startswith("SCAN jobs") and "INDEX" not in p]
        assert table_scans == [], (sql, plan)
        # only the page's own rows are sorted; the rows before it are skipped in index order
        inner_sorts = [p for parent, p in plan if parent != 0 and "TEMP B-TREE" in p]
        assert inner_sorts == [], (sql, plan)
    store.close()


# -- what is stored ------------------------------------------------------------------------


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Level(enum.IntEnum):
    HIGH = 2


class Explosive:
    """Would run code if it were ever unpickled."""

    def __reduce__(self) -> Any:
        return (exec, ("raise SystemExit('unpickled')",))

    def __repr__(self) -> str:
        return "Explosive()"


def test_data_json_cannot_hold_is_stored_in_the_sanitizer_form(any_store: Any) -> None:
    rt = Runtime()
    flow = Flow("odd-data")

    @flow.routine(slots=["input"], events=[])
    def keep(input, ctx):
        ctx.data.update(
            point=Point(1, 2),
            tags={"a"},
            pair=(1, "b"),
            by_int={3: "three"},
            nested=[{"p": Point(0, 0)}, 2.5, None, True],
            bomb=Explosive(),
            text="ok",
            level=Level.HIGH,
        )

    try:
        job = rt.submit(flow, data={}, metadata={"when": Point(5, 6)}).wait(5)
        assert job.status == "completed", job.error
        any_store.save_job(job)
    finally:
        rt.shutdown()
    stored = any_store.get_job(job.job_id)
    assert stored is not None
    assert stored.data == {
        "point": {"x": 1, "y": 2},  # a dataclass: its fields
        "tags": ["a"],  # a set: a sorted list
        "pair": [1, "b"],
        "by_int": {"3": "three"},
        "nested": [{"p": {"x": 0, "y": 0}}, 2.5, None, True],
        "bomb": "Explosive()",
        "text": "ok",
        "level": 2,
    }
    assert stored.metadata == {"when": {"x": 5, "y": 6}}
    assert json.loads(json.dumps(stored.to_dict())) == stored.to_dict()
    assert job.data["point"] == Point(1, 2)  # the live job is untouched


def test_self_referencing_data_is_stored_with_a_marker(any_store: Any) -> None:
    loop: list[Any] = [1]
    loop.append(loop)
    any_store.save_job(record("loop", 1.0, data={"loop": loop}))
    stored = any_store.get_job("loop")
    assert stored.data == {"loop": [1, "<circular reference>"]}


def test_stored_job_answers_like_a_finished_job_context() -> None:
    rt = Runtime()
    flow = Flow("held")
    release = threading.Event()

    @flow.routine(slots=["input"], events=[])
    def hold(input, ctx):
        release.wait(5)

    try:
        job = rt.submit(flow, data={}, metadata={"owner": "me"})
        wait_until(lambda: job.status == "running")
        job.cancel("not needed")
        release.set()
    finally:
        rt.shutdown()
    stored = StoredJob.from_job(job)
    assert stored.to_dict() == job.to_dict()
    assert list(stored.to_dict()) == list(job.to_dict())
    assert stored.to_dict()["cancel_reason"] == "not needed"
    assert stored.cancelled_at == job.cancelled_at and stored.duration == pytest.approx(
        job.duration
    )
    assert repr(stored) == f"StoredJob(job_id={job.job_id!r}, flow_id='held', status='cancelled')"
    assert repr(record("j", 1.0, status="failed", error="boom")) == (
        "StoredJob(job_id='j', flow_id='f', status='failed', error='boom')"
    )
    assert stored.monitor is None and list(stored.logs) == [] and stored.trace_log == []
    for action in (stored.pause, stored.resume, stored.cancel, stored.complete):
        with pytest.raises(JobStateError, match="already cancelled"):
            action()
    with pytest.raises(JobStateError, match="no live worker"):
        stored.worker  # noqa: B018
    with pytest.raises(dataclasses.FrozenInstanceError):
        stored.status = "running"  # type: ignore[misc]
    assert StoredJob.from_doc(stored.to_doc()) == stored


# -- both stores ---------------------------------------------------------------------------


def test_stores_follow_the_protocol_and_replace_by_job_id(any_store: Any) -> None:
    assert isinstance(any_store, JobStore)
    assert any_store.get_job("missing") is None
    any_store.save_job(record("a", 1.0, status="failed", error="first"))
    any_store.save_job(record("b", 2.0))
    any_store.save_job(record("a", 3.0, status="completed"))
    assert any_store.count() == 2
    assert stored_job(any_store, "a").status == "completed"
    assert [j.job_id for j in any_store.list_jobs()[0]] == ["a", "b"]
    assert any_store.list_jobs(status="failed") == ([], 0)
    assert any_store.stats()["jobs"] == 2
    with pytest.raises(ValueError, match="must be >= 0"):
        any_store.list_jobs(offset=-1)


def test_concurrent_saves_from_four_threads(any_store: Any) -> None:
    per_thread, errors = 200, []
    start = threading.Barrier(4)

    def writer(t: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                any_store.save_job(
                    record(f"t{t}-{i}", t + i / 1000, flow_id=f"f{t}", data={"thread": t, "i": i})
                )
                if i % 50 == 0:
                    any_store.list_jobs(flow_id=f"f{t}", limit=10)
                    any_store.count()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert errors == []
    assert any_store.count() == 4 * per_thread
    for t in range(4):
        page, total = any_store.list_jobs(flow_id=f"f{t}", limit=1000)
        assert total == per_thread
        assert [j.data["i"] for j in page] == list(range(per_thread - 1, -1, -1))
    assert stored_job(any_store, "t3-199").data == {"thread": 3, "i": 199}


def test_memory_store_is_bounded_dropping_the_oldest() -> None:
    store = MemoryJobStore(max_jobs=5)
    for i in [3, 0, 7, 1, 9, 4, 2, 8, 6, 5, 11, 10]:  # saved out of creation order
        store.save_job(record(f"j{i}", float(i)))
    assert store.count() == 5 and store.stats()["dropped"] == 7
    assert [j.job_id for j in store.list_jobs()[0]] == ["j11", "j10", "j9", "j8", "j7"]
    assert store.get_job("j6") is None and store.get_job("j7") is not None
    store.save_job(record("j9", 9.0, status="failed"))  # replacing keeps the bound
    assert store.count() == 5 and stored_job(store, "j9").status == "failed"
    assert store.list_jobs(limit=2, offset=1) == (store.list_jobs()[0][1:3], 5)
    with pytest.raises(ValueError, match="max_jobs"):
        MemoryJobStore(max_jobs=0)


def test_runtime_get_job_with_a_bounded_memory_store() -> None:
    store = MemoryJobStore(max_jobs=3)
    rt = Runtime(max_finished_jobs=2, store=store)
    flow = two_step_flow("mem")
    try:
        jobs = [rt.submit(flow, data={"n": i, "fail": False}).wait(5) for i in range(8)]
        wait_until(lambda: store.stats()["dropped"] == 3)
        for job in jobs[:3]:  # evicted from the runtime, then dropped by the store
            with pytest.raises(KeyError):
                rt.get_job(job.job_id)
        for job in jobs[3:6]:
            assert rt.get_job(job.job_id).to_dict() == job.to_dict()
        for job in jobs[6:]:
            assert rt.get_job(job.job_id) is job
    finally:
        rt.shutdown()


def test_sqlite_in_memory_database_and_closing() -> None:
    store = SQLiteJobStore(":memory:")
    store.save_job(record("m", 1.0, data={"v": 1}))
    assert stored_job(store, "m").data == {"v": 1}
    stats = store.stats()
    assert stats["path"] == ":memory:" and stats["jobs"] == 1 and stats["wal_mode"] is False
    assert repr(store) == "SQLiteJobStore(path=':memory:')"
    store.close()
    store.close()
    assert store.closed
    with pytest.raises(StateError, match="closed"):
        store.get_job("m")


def test_listing_continues_into_the_store_and_shutdown_keeps_the_rest(tmp_path):
    from routilux_nb import Flow, Runtime
    from routilux_nb.store import SQLiteJobStore

    path = tmp_path / "jobs.db"
    rt = Runtime(max_finished_jobs=5, store=SQLiteJobStore(path))
    flow = Flow("listing")

    @flow.routine(slots=["input"], events=[])
    def keep(input, ctx):
        ctx.data["n"] = input[0]["n"]

    ids = [rt.submit(flow, data={"n": i}, job_id=f"j{i:02d}").wait(5).job_id for i in range(12)]
    deadline = time.monotonic() + 5
    while len(rt.jobs()) > 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    page, total = rt.list_jobs(limit=8)
    assert total == 12
    assert [j.job_id for j in page] == ids[::-1][:8]  # newest first, memory then store
    page, _ = rt.list_jobs(limit=5, offset=9)
    assert [j.job_id for j in page] == ids[::-1][9:]
    with pytest.raises(Exception, match="already exists"):
        rt.submit(flow, data={"n": 0}, job_id="j00")  # an id in the store is taken
    rt.shutdown()
    reopened = SQLiteJobStore(path)
    assert reopened.count() == 12  # shutdown saved the jobs still in memory
    reopened.close()
