"""A bounded, thread-safe job store in memory (what is kept is lost with the process)."""

from __future__ import annotations

import bisect
import json
import threading
from collections.abc import Iterable
from typing import Any, NamedTuple

from .base import StoredJob, check_listing, decode_job, encode_job, status_set

__all__ = ["MemoryJobStore"]


class _Entry(NamedTuple):
    key: tuple[float, int]
    flow_id: str | None
    worker_id: str | None
    status: str
    doc: str
    completed_at: float | None


class MemoryJobStore:
    """Keeps up to ``max_jobs`` finished jobs as JSON documents; the oldest are dropped.

    >>> store = MemoryJobStore(max_jobs=2)
    >>> store.count(), store.list_jobs()
    (0, ([], 0))
    """

    def __init__(self, max_jobs: int = 100_000) -> None:
        if max_jobs < 1:
            raise ValueError(f"max_jobs must be >= 1, got {max_jobs}")
        self.max_jobs = max_jobs
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._order: list[tuple[float, int]] = []  # (created_at, seq), oldest first
        self._ids: dict[tuple[float, int], str] = {}
        self._seq = 0
        self.dropped = 0

    def save_job(self, job: Any) -> None:
        record, doc = encode_job(job)
        with self._lock:
            self._put(record, doc)

    def save_records(self, records: Iterable[StoredJob], *, owner: str | None = None) -> None:
        """Store several records."""
        docs = [(r, json.dumps(r.to_doc(), separators=(",", ":"))) for r in records]
        with self._lock:
            for record, doc in docs:
                self._put(record, doc)

    def mark_interrupted(self) -> list[str]:
        """Nothing to do: what this store holds was written by this process, which is alive."""
        return []

    def _put(self, record: StoredJob, doc: str) -> None:
        """Insert or replace one record (lock held)."""
        old = self._entries.pop(record.job_id, None)
        if old is not None:
            self._forget(old.key)
        self._seq += 1
        key = (record.created_at, self._seq)
        bisect.insort(self._order, key)
        self._ids[key] = record.job_id
        self._entries[record.job_id] = _Entry(
            key, record.flow_id, record.worker_id, record.status, doc, record.completed_at
        )
        while len(self._order) > self.max_jobs:
            oldest = self._order.pop(0)
            del self._entries[self._ids.pop(oldest)]
            self.dropped += 1

    def _forget(self, key: tuple[float, int]) -> None:
        i = bisect.bisect_left(self._order, key)
        del self._order[i]
        del self._ids[key]

    def get_job(self, job_id: str) -> StoredJob | None:
        with self._lock:
            entry = self._entries.get(job_id)
        return None if entry is None else decode_job(entry.doc)

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
        """One page and the total matching (newest first and unfiltered: O(offset + limit))."""
        check_listing(limit, offset, sort_by, order)
        statuses = status_set(status)
        if (
            created_after is not None
            or created_before is not None
            or sort_by != "created_at"
            or order != "desc"
        ):
            return self._scan(
                flow_id,
                worker_id,
                statuses,
                limit,
                offset,
                created_after,
                created_before,
                sort_by,
                order,
            )
        with self._lock:
            if flow_id is None and worker_id is None and statuses is None:
                total = len(self._order)
                keys = self._order[max(total - offset - limit, 0) : max(total - offset, 0)]
                docs = [self._entries[self._ids[k]].doc for k in reversed(keys)]
            else:
                docs, total = [], 0
                for k in reversed(self._order):
                    e = self._entries[self._ids[k]]
                    if (
                        (flow_id is None or e.flow_id == flow_id)
                        and (worker_id is None or e.worker_id == worker_id)
                        and (statuses is None or e.status in statuses)
                    ):
                        if offset <= total < offset + limit:
                            docs.append(e.doc)
                        total += 1
        return [decode_job(d) for d in docs], total

    def _scan(
        self,
        flow_id: str | None,
        worker_id: str | None,
        statuses: tuple[str, ...] | None,
        limit: int,
        offset: int,
        created_after: float | None,
        created_before: float | None,
        sort_by: str,
        order: str,
    ) -> tuple[list[StoredJob], int]:
        with self._lock:
            rows = [
                e
                for e in self._entries.values()
                if (flow_id is None or e.flow_id == flow_id)
                and (worker_id is None or e.worker_id == worker_id)
                and (statuses is None or e.status in statuses)
                and (created_after is None or e.key[0] > created_after)
                and (created_before is None or e.key[0] < created_before)
            ]
        desc = order == "desc"
        if sort_by == "created_at":
            rows.sort(key=lambda e: e.key, reverse=desc)
        elif sort_by == "status":
            rows.sort(key=lambda e: (e.status, e.key), reverse=desc)
        else:  # completed_at: unfinished jobs first in asc order, last in desc (as SQLite sorts NULL)
            rows.sort(
                key=lambda e: (e.completed_at is not None, e.completed_at or 0.0, e.key),
                reverse=desc,
            )
        return [decode_job(e.doc) for e in rows[offset : offset + limit]], len(rows)

    def count(self) -> int:
        with self._lock:
            return len(self._entries)

    def stats(self) -> dict[str, Any]:
        """``{"jobs", "max_jobs", "dropped", "size_bytes"}`` (size of the kept JSON documents)."""
        with self._lock:
            size = sum(len(e.doc) for e in self._entries.values())
            return {
                "jobs": len(self._entries),
                "max_jobs": self.max_jobs,
                "dropped": self.dropped,
                "size_bytes": size,
            }

    def ping(self) -> str:
        """A one-line state for health checks."""
        return f"{self.count()} jobs in memory"

    def close(self) -> None:
        """Forget every job."""
        with self._lock:
            self._entries.clear()
            self._order.clear()
            self._ids.clear()

    def __repr__(self) -> str:
        return f"MemoryJobStore(jobs={self.count()}, max_jobs={self.max_jobs})"
