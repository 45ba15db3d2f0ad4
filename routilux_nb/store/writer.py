"""Write-through of job transitions to a store, from one background thread, in batches.

The engine tells the writer of every job transition through two of the monitor hooks
(``job_created`` and ``job_status``); each costs a dict assignment under a lock on the engine's
thread: nothing is read or encoded there. The writer thread wakes on the first transition
after a write, waits ``interval`` seconds so that transitions batch up (a job's transitions
inside one window coalesce into its latest state), then writes them in one transaction. So after a crash (``kill -9``) at
most the transitions of the last ``interval`` seconds, plus one write, are missing.

A job's data, logs and error are written with its final transition; unfinished jobs are
written without data and logs (they are still changing). A row keeps the job's ids, status
and times in columns and the other fields that are set in a JSON document; an update
rewrites only the status, completion time and document. The writer's CPU is what the store
costs the process (``stats()["cpu_seconds"]``; ``benchmarks/bench_store.py`` prints it per job).

>>> from routilux_nb.store import SQLiteJobStore
>>> writer = JobWriter(SQLiteJobStore(":memory:"), interval=0.01)
>>> writer.stats()["written"]
0
>>> writer.close()
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from .base import JOB_FIELDS, StoredJob
from .steps import step_rows

__all__ = [
    "DEFAULT_INTERVAL",
    "ROW_COLUMNS",
    "JobWriter",
    "owner_alive",
    "process_owner",
    "transition_row",
]

log = logging.getLogger(__name__)

#: seconds a transition may wait before it is written (the crash-loss bound)
DEFAULT_INTERVAL = 0.1
_FINISHED = frozenset({"completed", "failed", "cancelled"})


def process_owner() -> str:
    """``host:pid`` of this process: stored on the jobs it writes, so that a later process can
    tell jobs whose writer died (interrupted) from jobs another live process is running."""
    return f"{socket.gethostname()}:{os.getpid()}"


#: the fields a row keeps in columns of its own (its JSON document holds the others)
ROW_COLUMNS = ("job_id", "flow_id", "worker_id", "status", "created_at", "completed_at")
_DOC_FIELDS = tuple(name for name in JOB_FIELDS if name not in ROW_COLUMNS)
#: left out of a document when empty (a reader's record has the same empty default)
_EMPTY_DEFAULT = frozenset({"metadata", "data", "logs"})
_encode = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


def transition_row(job: Any, owner: str | None) -> tuple[Any, ...]:
    """The row of a job's current state: its columns, then a JSON document of the other fields
    that are set (all of them once finished; without the data and logs, which are still
    changing, before), then ``owner``. Anything strict JSON cannot hold goes through
    :meth:`StoredJob.from_job`'s sanitizing (and the row then carries a full document)."""
    status = job.status
    finished = status in _FINISHED
    doc = {}
    for name in _DOC_FIELDS:
        value = getattr(job, name, None)
        if value is None or (not value and name in _EMPTY_DEFAULT):
            continue
        doc[name] = value
    if finished:
        if "logs" in doc:
            doc["logs"] = list(doc["logs"])
    else:
        doc.pop("data", None)
        doc.pop("logs", None)
    try:
        text = _encode(doc)
    except (TypeError, ValueError, RecursionError, RuntimeError):
        record = StoredJob.from_job(job, with_data=finished)
        return (*(getattr(record, c) for c in ROW_COLUMNS), encode_record(record), owner)
    return (
        job.job_id,
        job.flow_id,
        job.worker_id,
        status,
        job.created_at,
        job.completed_at,
        text,
        owner,
    )


def encode_record(record: StoredJob) -> str:
    """The JSON document of a record (every field)."""
    return json.dumps(record.to_doc(), separators=(",", ":"))


def owner_alive(owner: str | None) -> bool:
    """Whether the process that wrote a job (``host:pid``) may still be running it."""
    host, _, pid = (owner or "").rpartition(":")
    if not host or not pid.isdigit():
        return False  # written before owners were recorded, or by no one we can ask
    if host != socket.gethostname():
        return True  # another machine's process: we cannot tell, so we do not touch its jobs
    if int(pid) == os.getpid():
        return False  # this process: a runtime reopening its own store is not running them
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


class JobWriter:
    """Batches job transitions into ``store.save_records`` from a daemon thread."""

    def __init__(
        self, store: Any, *, interval: float = DEFAULT_INTERVAL, owner: str | None = None
    ) -> None:
        if interval < 0:
            raise ValueError(f"interval must be >= 0 seconds, got {interval}")
        self.store = store
        self.interval = interval
        self.owner = owner or process_owner()
        self._lock = threading.Lock()  # guards the pending state; held only briefly
        self._write_lock = threading.Lock()  # one batch written at a time, in order
        self._pending: dict[str, Any] = {}
        self._evict: list[tuple[str, Callable[[str], None]]] = []
        self._wake = threading.Event()
        self._closing = False
        self._oldest_pending: float | None = None
        self.written = 0
        self.batches = 0
        self.errors = 0
        self.last_error: str | None = None
        self.last_lag = 0.0
        #: CPU time spent encoding and writing (the store's cost to the process)
        self.cpu_seconds = 0.0
        self._thread = threading.Thread(target=self._run, name="routilux-store-writer", daemon=True)
        self._thread.start()

    # -- hooks called by the engine (cheap) ----------------------------------------------
    def job_created(self, job: Any) -> None:
        self.note(job)

    def job_status(self, job: Any, old: str | None = None) -> None:
        self.note(job)

    def note(self, job: Any) -> None:
        """Remember that ``job`` changed; it is written within ``interval`` seconds."""
        with self._lock:
            if not self._pending:
                self._oldest_pending = time.monotonic()
                self._wake.set()
            self._pending[job.job_id] = job

    def evict_after_write(self, job_id: str, forget: Callable[[str], None]) -> None:
        """Call ``forget(job_id)`` once the job's latest state is in the store (never before)."""
        with self._lock:
            self._evict.append((job_id, forget))
            if len(self._evict) == 1:
                self._wake.set()

    # -- the writer thread ---------------------------------------------------------------
    def _run(self) -> None:
        while True:
            self._wake.wait()
            if not self._closing and self.interval:
                # let transitions batch up until the oldest has waited ``interval`` (counted from
                # when it was noted, so a late wake-up does not add to the loss bound)
                with self._lock:
                    oldest = self._oldest_pending
                if oldest is not None:
                    delay = oldest + self.interval - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
            self._write_pending()
            if self._closing:
                with self._lock:
                    if not self._pending and not self._evict:
                        return

    def _write_pending(self) -> None:
        """Swap out what is pending and write it; batches are written in the order they were taken."""
        with self._write_lock:
            with self._lock:
                self._wake.clear()
                pending, self._pending = self._pending, {}
                evict, self._evict = self._evict, []
                oldest, self._oldest_pending = self._oldest_pending, None
            if pending or evict:
                self._write(list(pending.values()), evict, oldest)

    def _write(
        self, jobs: list[Any], evict: list[tuple[str, Callable[[str], None]]], oldest: float | None
    ) -> None:
        started = time.thread_time()
        try:
            if jobs:
                owner = self.owner
                steps = step_rows(jobs)  # recorded steps of finished jobs (store.steps)
                self.store.save_rows(
                    [transition_row(job, owner) for job in jobs], steps=steps or None
                )
        except Exception as exc:  # keep them pending: a later write retries them
            self.errors += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("could not write %d job transitions to %r", len(jobs), self.store)
            with self._lock:
                for job in jobs:
                    self._pending.setdefault(job.job_id, job)
                self._evict[:0] = evict
                self._wake.set()
            time.sleep(min(1.0, max(self.interval, 0.05)))
            return
        self.cpu_seconds += time.thread_time() - started
        self.written += len(jobs)
        self.batches += 1
        if oldest is not None:
            self.last_lag = time.monotonic() - oldest
        for job_id, forget in evict:
            try:
                forget(job_id)
            except Exception:
                log.exception("evicting job %s after writing it failed", job_id)

    # -- control -------------------------------------------------------------------------
    def flush(self) -> None:
        """Write what is pending now, in the calling thread (a reader's way to see every job)."""
        self._write_pending()

    def stats(self) -> dict[str, Any]:
        """What ``/health/database`` reports about writing: counts, errors and lag."""
        with self._lock:
            pending = len(self._pending)
            age = 0.0 if self._oldest_pending is None else time.monotonic() - self._oldest_pending
        return {
            "written": self.written,
            "batches": self.batches,
            "pending": pending,
            "pending_age_seconds": round(age, 4),
            "last_lag_seconds": round(self.last_lag, 4),
            "interval_seconds": self.interval,
            "cpu_seconds": round(self.cpu_seconds, 4),
            "errors": self.errors,
            "last_error": self.last_error,
        }

    def close(self, timeout: float = 10.0) -> None:
        """Write everything pending, then stop the thread (idempotent)."""
        with self._lock:
            self._closing = True
            self._wake.set()
        self._thread.join(timeout)

    def __repr__(self) -> str:
        return f"JobWriter(store={self.store!r}, interval={self.interval})"
