"""Listing totals stay cheap at any size: exact for flow and status filters (kept counts), a
lower bound (``AtLeast``) past a limit for filters by creation time or worker, with ``has_more``
always right; and rows written by the writer (slim documents) read back whole, beside rows
of full documents written before."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

import routilux_nb  # noqa: F401  (registers the builtins, the monitor and the store opener)
from routilux_nb.core import Flow, Runtime
from routilux_nb.core.extensions import AtLeast
from routilux_nb.store import SQLiteJobStore, StoredJob
from routilux_nb.store import sqlite as sqlite_store


def records(n: int) -> list[StoredJob]:
    return [
        StoredJob(
            job_id=f"job-{i:04d}",
            worker_id=f"w{i % 2}",
            flow_id="f",
            status="failed" if i % 5 == 0 else "completed",
            created_at=1000.0 + i,
            completed_at=1000.5 + i,
            data={"i": i},
        )
        for i in range(n)
    ]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SQLiteJobStore:
    monkeypatch.setattr(sqlite_store, "COUNT_LIMIT", 10)
    s = SQLiteJobStore(tmp_path / "jobs.db")
    s.save_records(records(50))
    return s


def test_a_time_filter_counts_up_to_the_limit_then_says_at_least(store: SQLiteJobStore) -> None:
    page, total = store.list_jobs(created_after=1004.0, limit=5)
    assert [j.job_id for j in page] == [f"job-{i:04d}" for i in range(49, 44, -1)]
    assert isinstance(total, AtLeast) and total == 10  # 45 match: 10 or more
    # asking for a page further on counts just past it, so more-to-come stays exact
    page, total = store.list_jobs(created_after=1004.0, limit=5, offset=20)
    assert isinstance(total, AtLeast) and total == 26 and len(page) == 5
    # a limit past every match gives the exact count
    page, total = store.list_jobs(created_after=1004.0, limit=100)
    assert not isinstance(total, AtLeast) and total == 45 and len(page) == 45
    page, total = store.list_jobs(worker_id="w1", limit=3)
    assert isinstance(total, AtLeast) and total == 10


def test_flow_and_status_totals_stay_exact(store: SQLiteJobStore) -> None:
    for filters, expected in (({}, 50), ({"status": "failed"}, 10), ({"flow_id": "f"}, 50)):
        page, total = store.list_jobs(limit=3, **filters)  # type: ignore[arg-type]
        assert not isinstance(total, AtLeast) and total == expected and len(page) == 3


def test_walking_pages_by_has_more_sees_every_match_once(store: SQLiteJobStore) -> None:
    seen: list[str] = []
    offset = 0
    while True:
        page, total = store.list_jobs(created_before=1040.0, limit=7, offset=offset)
        seen += [j.job_id for j in page]
        offset += len(page)
        if offset >= total:  # has_more is offset + len(page) < total
            break
    assert seen == [f"job-{i:04d}" for i in range(39, -1, -1)]


def test_writer_rows_and_older_full_rows_read_back_whole(tmp_path: Path) -> None:
    db = tmp_path / "jobs.db"
    flow = Flow("slim")

    @flow.routine(slots=["input"], events=[])
    def work(input, ctx):
        ctx.data["n"] = input[0]["n"]
        ctx.log("done")

    rt = Runtime(store=db)
    try:
        job = rt.submit(flow, data={"n": 3}, metadata={"who": "me"}).wait(10)
        rt.store_writer.flush()
    finally:
        rt.shutdown()
    with sqlite3.connect(db) as conn:
        doc = json.loads(
            conn.execute("SELECT doc FROM jobs WHERE job_id = ?", (job.job_id,)).fetchone()[0]
        )
        # the columns hold the ids, status and times; the document holds the rest
        assert "job_id" not in doc and "status" not in doc and doc["data"] == {"n": 3}
        full = StoredJob(job_id="old", worker_id="w", flow_id="f", status="failed", created_at=5.0)
        conn.execute(
            "INSERT INTO jobs (job_id, flow_id, worker_id, status, created_at, completed_at, doc) "
            "VALUES ('old', 'f', 'w', 'failed', 5.0, NULL, ?)",
            (json.dumps(full.to_doc()),),
        )
    with SQLiteJobStore(db) as store:
        back = store.get_job(job.job_id)
        assert back is not None
        assert (back.status, back.flow_id, back.data, back.metadata) == (
            "completed",
            "slim",
            {"n": 3},
            {"who": "me"},
        )
        assert back.created_at == job.created_at and back.completed_at == job.completed_at
        assert [entry["details"]["message"] for entry in back.logs] == ["done"]
        assert store.get_job("old") == full
