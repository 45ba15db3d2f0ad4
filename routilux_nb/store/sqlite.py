"""A job store in one SQLite file (stdlib ``sqlite3``, WAL mode), shared safely by threads.

>>> store = SQLiteJobStore(":memory:")
>>> store.count(), store.list_jobs()
(0, ([], 0))
>>> store.close()
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable
from typing import Any

from routilux_nb.core import jsonsafe
from routilux_nb.core.errors import StateError
from routilux_nb.core.extensions import AtLeast
from routilux_nb.core.steps import StepLog
from routilux_nb.core.versions import FlowVersion

from .base import (
    COUNT_LIMIT,
    UNFINISHED,
    StoredJob,
    check_listing,
    encode_job,
    interrupted,
    status_set,
)
from .sqlite_schema import (
    ADDED_COLUMNS,
    COUNTS,
    ORDER,
    READ,
    ROWS_PER_STATEMENT,
    SCHEMA,
    UPSERT,
    VERSIONS,
    transition_rows,
    where_sql,
)
from .steps import load_steps, step_rows, write_steps
from .writer import DEFAULT_INTERVAL, ROW_COLUMNS, JobWriter, encode_record, owner_alive

__all__ = ["SQLiteJobStore"]


class SQLiteJobStore:
    """Finished jobs in the SQLite database at ``path`` (``":memory:"`` for a private one).

    One connection, guarded by a lock, serves every thread; the database is put in WAL mode
    so readers in other processes do not block writes. Each job is one row: indexed columns
    for filtering and a JSON document with every field.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._lock = threading.Lock()
        conn = sqlite3.connect(
            self.path, timeout=10.0, isolation_level=None, check_same_thread=False
        )
        try:
            self.journal_mode = str(conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]).lower()
            conn.execute("PRAGMA synchronous=NORMAL")
            # the statement journals of upserts that fire the count triggers stay in memory
            # (not temporary files: they were most of the writer's cost)
            conn.execute("PRAGMA temp_store=MEMORY")
            conn.execute("BEGIN")
            conn.execute(SCHEMA[0])
            have = {row[1] for row in conn.execute("PRAGMA table_info(jobs)")}
            for column, kind in ADDED_COLUMNS.items():
                if column not in have:
                    conn.execute(f"ALTER TABLE jobs ADD COLUMN {column} {kind}")
            for statement in (*SCHEMA[1:], VERSIONS):
                conn.execute(statement)
            if (
                conn.execute("SELECT name FROM sqlite_master WHERE name = 'job_counts'").fetchone()
                is None
            ):
                for statement in COUNTS:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO job_counts SELECT COALESCE(flow_id, ''), status, COUNT(*) "
                    "FROM jobs GROUP BY 1, 2"
                )
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
        steps = step_rows([job])
        with self._lock:
            self._db().execute(UPSERT, _row(record, doc, None))
            write_steps(self._db(), steps)

    def save_records(self, records: Iterable[StoredJob], *, owner: str | None = None) -> None:
        """Upsert several records in one transaction."""
        self._upsert(UPSERT, [_row(r, encode_record(r), owner) for r in records])

    def save_rows(
        self, rows: list[tuple[Any, ...]], *, steps: list[tuple[str, str]] | None = None
    ) -> None:
        """Write the transitions of live jobs in one transaction (the writer's call): rows
        ``(job_id, flow_id, worker_id, status, created_at, completed_at, JSON document, owner)``
        (see :func:`.writer.transition_row`); the document may leave out what the columns hold.
        ``steps``: the finished jobs' recorded steps (:func:`.steps.step_rows`), in the same
        transaction."""
        chunks = [rows[i : i + ROWS_PER_STATEMENT] for i in range(0, len(rows), ROWS_PER_STATEMENT)]
        with self._lock:
            db = self._db()
            db.execute("BEGIN")
            try:
                for chunk in chunks:
                    db.execute(transition_rows(len(chunk)), [v for row in chunk for v in row])
                write_steps(db, steps or [])
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def _upsert(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        with self._lock:
            db = self._db()
            db.execute("BEGIN")
            try:
                db.executemany(sql, rows)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def mark_interrupted(self) -> list[str]:
        """Fail the unfinished jobs whose writing process is gone (see :func:`.base.interrupted`)."""
        marks = ", ".join("?" * len(UNFINISHED))
        with self._lock:
            rows = (
                self._db()
                .execute(f"SELECT {READ}, owner FROM jobs WHERE status IN ({marks})", UNFINISHED)
                .fetchall()
            )
        now = time.time()
        changed = [interrupted(_decode(row), now) for row in rows if not owner_alive(row[-1])]
        if changed:
            self.save_records(changed)
        return [r.job_id for r in changed]

    def start_writer(self, interval: float = DEFAULT_INTERVAL) -> JobWriter:
        """A write-through writer into this store (a :class:`~.writer.JobWriter`)."""
        return JobWriter(self, interval=interval)

    def save_flow_version(self, version: FlowVersion) -> None:
        """Keep one version of a flow (its DSL definition)."""
        row = (
            version.flow_id,
            version.version,
            version.created_at,
            version.digest,
            jsonsafe.dumps(version.definition),
        )
        with self._lock:
            self._db().execute("INSERT OR REPLACE INTO flow_versions VALUES (?, ?, ?, ?, ?)", row)

    def load_flow_versions(self) -> list[FlowVersion]:
        """Every kept version of every flow, oldest first."""
        with self._lock:
            rows = (
                self._db()
                .execute(
                    "SELECT flow_id, version, created_at, digest, definition FROM flow_versions "
                    "ORDER BY flow_id, version"
                )
                .fetchall()
            )
        return [FlowVersion(f, v, c, d, json.loads(text)) for f, v, c, d, text in rows]

    def load_steps(self, job_id: str) -> StepLog | None:
        """The recorded steps stored with a finished job (see :mod:`.steps`), or ``None``."""
        with self._lock:
            return load_steps(self._db(), job_id)

    def get_job(self, job_id: str) -> StoredJob | None:
        with self._lock:
            row = (
                self._db()
                .execute(f"SELECT {READ} FROM jobs WHERE job_id = ?", (job_id,))
                .fetchone()
            )
        return None if row is None else _decode(row)

    def list_jobs(
        self,
        *,
        flow_id: str | None = None,
        worker_id: str | None = None,
        status: str | Iterable[str] | None = None,
        limit: int = 100,
        offset: int = 0,
        created_after: float | None = None,
        created_before: float | None = None,
        sort_by: str = "created_at",
        order: str = "desc",
    ) -> tuple[list[StoredJob], int]:
        """One page and the total matching; the page is cut in SQL on an index.

        The total is exact for filters by flow and status (kept counts); filtered by creation
        time or worker, matches are counted up to ``max(COUNT_LIMIT, offset + limit + 1)``, and
        past that the total is an :class:`~routilux_nb.core.extensions.AtLeast` (a lower bound;
        whether more follow the page stays exact).

        ``created_after``/``created_before`` are epoch seconds (exclusive); ``sort_by`` is one
        of ``created_at`` (default), ``completed_at`` (unfinished jobs count as not completed yet:
        first in ``asc`` order, last in ``desc``) or ``status``.
        """
        check_listing(limit, offset, sort_by, order)
        where, params = where_sql(
            flow_id, worker_id, status_set(status), created_after, created_before
        )
        by = ORDER[sort_by].format(o=order.upper())
        # the inner query walks an index only; documents are read for the page's rows alone
        page_sql = (
            f"SELECT {READ} FROM jobs WHERE rowid IN (SELECT rowid FROM jobs{where} "
            f"ORDER BY {by} LIMIT ? OFFSET ?) ORDER BY {by}"
        )
        with self._lock:
            db = self._db()
            enough = max(COUNT_LIMIT, offset + limit + 1)
            total = _total(
                db, where, params, flow_id, worker_id, status, created_after, created_before, enough
            )
            rows = db.execute(page_sql, (*params, limit, offset)).fetchall() if limit else []
        return [_decode(r) for r in rows], total

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
        return {
            "database_size_bytes": int(pages) * int(page_size),
            "wal_mode": mode == "wal",
            "jobs": int(jobs),
            "path": self.path,
        }

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


def _total(
    db: sqlite3.Connection,
    where: str,
    params: tuple[Any, ...],
    flow_id: str | None,
    worker_id: str | None,
    status: Any,
    created_after: float | None,
    created_before: float | None,
    enough: int,
) -> int:
    """How many jobs match: exact from the per-(flow, status) counts when only those filter;
    else counted up to ``enough`` (an :class:`AtLeast` when there are that many or more), so
    that a page filtered by time costs the same at 1,000,000 jobs as at 1,000."""
    if worker_id is not None or created_after is not None or created_before is not None:
        counted = int(
            db.execute(
                f"SELECT COUNT(*) FROM (SELECT 1 FROM jobs{where} LIMIT ?)", (*params, enough)
            ).fetchone()[0]
        )
        return AtLeast(counted) if counted >= enough else counted
    counts_where, counts_params = where_sql(
        None if flow_id is None else flow_id, None, status_set(status)
    )
    row = db.execute(
        f"SELECT COALESCE(SUM(n), 0) FROM job_counts{counts_where}", counts_params
    ).fetchone()
    return int(row[0])


def _decode(row: tuple[Any, ...]) -> StoredJob:
    """The record of a row read with :data:`.sqlite_schema.READ`: its document completed by its columns."""
    doc = json.loads(row[0])
    doc.update(zip(ROW_COLUMNS, row[1:7], strict=True))
    return StoredJob.from_doc(doc)


def _row(record: Any, doc: str, owner: str | None) -> tuple[Any, ...]:
    return (
        record.job_id,
        record.flow_id,
        record.worker_id,
        record.status,
        record.created_at,
        record.completed_at,
        doc,
        owner,
    )
