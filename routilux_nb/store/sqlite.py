"""A job store in one SQLite file (stdlib ``sqlite3``, WAL mode), shared safely by threads.

>>> store = SQLiteJobStore(":memory:")
>>> store.count(), store.list_jobs()
(0, ([], 0))
>>> store.close()
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable
from typing import Any

from routilux_nb.core.errors import StateError

from .base import StoredJob, decode_job, encode_job, status_set

__all__ = ["SQLiteJobStore"]

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS jobs (
        job_id TEXT PRIMARY KEY,
        flow_id TEXT,
        worker_id TEXT,
        status TEXT NOT NULL,
        created_at REAL NOT NULL,
        completed_at REAL,
        doc TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created_at)",
    "CREATE INDEX IF NOT EXISTS jobs_flow_created ON jobs (flow_id, created_at)",
    "CREATE INDEX IF NOT EXISTS jobs_status_created ON jobs (status, created_at)",
    "CREATE INDEX IF NOT EXISTS jobs_worker_created ON jobs (worker_id, created_at)",
)

_UPSERT = (
    "INSERT INTO jobs (job_id, flow_id, worker_id, status, created_at, completed_at, doc) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(job_id) DO UPDATE SET "
    "flow_id = excluded.flow_id, worker_id = excluded.worker_id, status = excluded.status, "
    "created_at = excluded.created_at, completed_at = excluded.completed_at, doc = excluded.doc"
)


class SQLiteJobStore:
    """Finished jobs in the SQLite database at ``path`` (``":memory:"`` for a private one).

    One connection, guarded by a lock, serves every thread; the database is put in WAL mode
    so readers in other processes do not block writes. Each job is one row: indexed columns
    for filtering and a JSON document with every field.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._lock = threading.Lock()
        conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None, check_same_thread=False)
        try:
            self.journal_mode = str(conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]).lower()
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("BEGIN")
            for statement in _SCHEMA:
                conn.execute(statement)
            conn.execute("COMMIT")
        except BaseException:
            conn.close()
            raise
        self._conn: sqlite3.Connection | None = conn

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StateError(f"the job store {self.path!r} is closed")
        return self._conn

    def save_job(self, job: Any) -> None:
        record, doc = encode_job(job)
        params = (record.job_id, record.flow_id, record.worker_id, record.status,
                  record.created_at, record.completed_at, doc)
        with self._lock:
            self._db().execute(_UPSERT, params)

    def get_job(self, job_id: str) -> StoredJob | None:
        with self._lock:
            row = self._db().execute("SELECT doc FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return None if row is None else decode_job(row[0])

    def list_jobs(self, *, flow_id: str | None = None, worker_id: str | None = None,
                  status: str | Iterable[str] | None = None, limit: int = 100,
                  offset: int = 0) -> tuple[list[StoredJob], int]:
        """One page, newest first, and the total matching; the page is cut in SQL on an index."""
        if limit < 0 or offset < 0:
            raise ValueError(f"limit and offset must be >= 0, got limit={limit}, offset={offset}")
        where, params = _where(flow_id, worker_id, status_set(status))
        # the inner query walks an index only; documents are read for the page's rows alone
        page_sql = (f"SELECT doc FROM jobs WHERE rowid IN (SELECT rowid FROM jobs{where} "
                    "ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?) "
                    "ORDER BY created_at DESC, rowid DESC")
        with self._lock:
            db = self._db()
            total = db.execute(f"SELECT COUNT(*) FROM jobs{where}", params).fetchone()[0]
            rows = db.execute(page_sql, (*params, limit, offset)).fetchall() if limit else []
        return [decode_job(r[0]) for r in rows], int(total)

    def count(self) -> int:
        with self._lock:
            return int(self._db().execute("SELECT COUNT(*) FROM jobs").fetchone()[0])

    def stats(self) -> dict[str, Any]:
        """``{"database_size_bytes", "wal_mode", "jobs", "path"}``."""
        with self._lock:
            db = self._db()
            pages = db.execute("PRAGMA page_count").fetchone()[0]
            page_size = db.execute("PRAGMA page_size").fetchone()[0]
            mode = str(db.execute("PRAGMA journal_mode").fetchone()[0]).lower()
            jobs = db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]
        return {"database_size_bytes": int(pages) * int(page_size), "wal_mode": mode == "wal",
                "jobs": int(jobs), "path": self.path}

    def ping(self) -> str:
        """A one-line state for health checks (raises if the database cannot be read)."""
        return f"{self.count()} jobs, journal mode {self.journal_mode}"

    def close(self) -> None:
        """Close the connection (idempotent); the store cannot be used afterwards."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    @property
    def closed(self) -> bool:
        return self._conn is None

    def __enter__(self) -> SQLiteJobStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SQLiteJobStore(path={self.path!r})"


def _where(flow_id: str | None, worker_id: str | None,
           statuses: tuple[str, ...] | None) -> tuple[str, tuple[Any, ...]]:
    """A ``WHERE`` clause over fixed column names with ``?`` placeholders, and its values."""
    clauses: list[str] = []
    params: list[Any] = []
    if flow_id is not None:
        clauses.append("flow_id = ?")
        params.append(flow_id)
    if worker_id is not None:
        clauses.append("worker_id = ?")
        params.append(worker_id)
    if statuses is not None:
        if len(statuses) == 1:
            clauses.append("status = ?")
        else:
            clauses.append(f"status IN ({', '.join('?' * len(statuses))})")
        params.extend(statuses)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)
