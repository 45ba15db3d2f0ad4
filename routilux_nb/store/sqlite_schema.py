"""The SQL of :class:`~.sqlite.SQLiteJobStore`: its schema, the statements that write a job's
row, and the ``WHERE`` clauses of listings (fixed column names, values as ``?`` parameters)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

__all__ = [
    "ADDED_COLUMNS",
    "COUNTS",
    "ORDER",
    "READ",
    "SCHEMA",
    "TRANSITION",
    "UPSERT",
    "ROWS_PER_STATEMENT",
    "VERSIONS",
    "transition_rows",
    "where_sql",
]

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS jobs (
        job_id TEXT PRIMARY KEY,
        flow_id TEXT,
        worker_id TEXT,
        status TEXT NOT NULL,
        created_at REAL NOT NULL,
        completed_at REAL,
        doc TEXT NOT NULL,
        owner TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created_at)",
    "CREATE INDEX IF NOT EXISTS jobs_flow_created ON jobs (flow_id, created_at)",
    "CREATE INDEX IF NOT EXISTS jobs_status_created ON jobs (status, created_at)",
    "CREATE INDEX IF NOT EXISTS jobs_worker_created ON jobs (worker_id, created_at)",
    # sort_by=completed_at: unfinished jobs (no completed_at) first in asc order, last in desc
    "CREATE INDEX IF NOT EXISTS jobs_completed ON jobs (completed_at)",
)
#: job counts per (flow, status), kept by triggers, so a listing filtered by flow and/or status
#: gets its total without counting rows (what keeps a page as fast at 1,000,000 jobs as at 1,000)
COUNTS = (
    """CREATE TABLE IF NOT EXISTS job_counts (
        flow_id TEXT NOT NULL, status TEXT NOT NULL, n INTEGER NOT NULL,
        PRIMARY KEY (flow_id, status)
    )""",
    """CREATE TRIGGER IF NOT EXISTS job_counts_insert AFTER INSERT ON jobs BEGIN
        INSERT INTO job_counts VALUES (COALESCE(NEW.flow_id, ''), NEW.status, 1)
            ON CONFLICT(flow_id, status) DO UPDATE SET n = n + 1;
    END""",
    """CREATE TRIGGER IF NOT EXISTS job_counts_update AFTER UPDATE OF flow_id, status ON jobs BEGIN
        UPDATE job_counts SET n = n - 1 WHERE flow_id = COALESCE(OLD.flow_id, '') AND status = OLD.status;
        INSERT INTO job_counts VALUES (COALESCE(NEW.flow_id, ''), NEW.status, 1)
            ON CONFLICT(flow_id, status) DO UPDATE SET n = n + 1;
    END""",
    """CREATE TRIGGER IF NOT EXISTS job_counts_delete AFTER DELETE ON jobs BEGIN
        UPDATE job_counts SET n = n - 1 WHERE flow_id = COALESCE(OLD.flow_id, '') AND status = OLD.status;
    END""",
)
VERSIONS = """CREATE TABLE IF NOT EXISTS flow_versions (
    flow_id TEXT NOT NULL, version INTEGER NOT NULL, created_at REAL NOT NULL,
    digest TEXT NOT NULL, definition TEXT NOT NULL, PRIMARY KEY (flow_id, version)
)"""
#: columns added after the first release: added to older databases when they are opened
ADDED_COLUMNS = {"owner": "TEXT"}

INSERT = (
    "INSERT INTO jobs (job_id, flow_id, worker_id, status, created_at, completed_at, doc, owner) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(job_id) DO UPDATE SET "
)
#: a record replaces the row of its job id
UPSERT = (
    INSERT + "flow_id = excluded.flow_id, worker_id = excluded.worker_id, "
    "status = excluded.status, created_at = excluded.created_at, "
    "completed_at = excluded.completed_at, doc = excluded.doc, "
    "owner = COALESCE(excluded.owner, jobs.owner)"
)
#: a live job's transition: its flow, worker and creation time never change, so an update
#: leaves their indexes alone
TRANSITION = (
    INSERT + "status = excluded.status, completed_at = excluded.completed_at, "
    "doc = excluded.doc, owner = COALESCE(excluded.owner, jobs.owner)"
)
#: what a read selects: the document, then the columns that complete it (see :func:`_decode`)
READ = "doc, job_id, flow_id, worker_id, status, created_at, completed_at"


#: rows a multi-row transition statement carries at most: 8 parameters each, within the 999
#: parameters older SQLite builds (before 3.32) allow a statement
ROWS_PER_STATEMENT = 120


@lru_cache(maxsize=ROWS_PER_STATEMENT)
def transition_rows(n: int) -> str:
    """:data:`TRANSITION` for ``n`` rows in one statement: SQLite runs it in one step, so the
    writer hands the GIL to the engine once per statement rather than once per row."""
    values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * n)
    return TRANSITION.replace("(?, ?, ?, ?, ?, ?, ?, ?)", values, 1)


ORDER = {
    "created_at": "created_at {o}, rowid {o}",
    "completed_at": "completed_at {o}, rowid {o}",
    "status": "status {o}, created_at {o}, rowid {o}",
}


def where_sql(
    flow_id: str | None,
    worker_id: str | None,
    statuses: tuple[str, ...] | None,
    created_after: float | None = None,
    created_before: float | None = None,
) -> tuple[str, tuple[Any, ...]]:
    """A ``WHERE`` clause over fixed column names with ``?`` placeholders, and its values."""
    clauses: list[str] = []
    params: list[Any] = []
    if created_after is not None:
        clauses.append("created_at > ?")
        params.append(float(created_after))
    if created_before is not None:
        clauses.append("created_at < ?")
        params.append(float(created_before))
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
