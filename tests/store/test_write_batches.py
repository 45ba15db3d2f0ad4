"""The writer's batches: many rows per statement (more than one statement's worth here), the
kept counts right after inserts and status changes, and a job strict JSON cannot hold written
sanitized beside the others."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from routilux_nb.store import SQLiteJobStore
from routilux_nb.store.sqlite_schema import ROWS_PER_STATEMENT
from routilux_nb.store.writer import transition_row


def job(i: int, status: str, **extra: Any) -> SimpleNamespace:
    fields: dict[str, Any] = {
        "job_id": f"j{i:05d}",
        "worker_id": "w",
        "flow_id": "f",
        "status": status,
        "created_at": 100.0 + i,
        "started_at": None,
        "completed_at": 200.0 + i if status == "completed" else None,
        "metadata": {},
        "data": {"i": i},
        "logs": [],
        "entry": ("a", "input"),
        "entry_data": {"i": i},
        "flow_version": 1,
    }
    fields.update(extra)
    return SimpleNamespace(**fields)


def test_a_batch_larger_than_a_statement_is_written_whole_and_counted(tmp_path: Path) -> None:
    n = ROWS_PER_STATEMENT * 2 + 17
    with SQLiteJobStore(tmp_path / "jobs.db") as store:
        store.save_rows([transition_row(job(i, "pending"), "me") for i in range(n)])
        assert store.count() == n
        assert store.list_jobs(status="pending", limit=1)[1] == n
        first = store.get_job("j00000")
        assert first is not None and first.data == {} and first.entry_data == {"i": 0}
        # the same jobs finish: updated in place, counts move from pending to completed
        done = [transition_row(job(i, "completed"), "me") for i in range(0, n, 2)]
        odd = job(1, "completed", data={(1, 2): float("nan")})  # tuple key, NaN: sanitized
        store.save_rows([*done, transition_row(odd, "me")])
        assert store.count() == n
        finished = len(done) + 1
        assert store.list_jobs(status="completed", limit=1)[1] == finished
        assert store.list_jobs(status="pending", limit=1)[1] == n - finished
        back = store.get_job("j00002")
        assert back is not None and back.status == "completed" and back.data == {"i": 2}
        assert back.completed_at == 202.0 and back.created_at == 102.0
        sanitized = store.get_job("j00001")
        assert sanitized is not None and sanitized.status == "completed"
        assert list(sanitized.data) == ["(1, 2)"]
