"""The jobs a runtime keeps: every unfinished job, and finished ones up to a bound.

Finished jobs beyond ``max_finished`` are evicted oldest first: forgotten, or saved to the
runtime's :class:`~routilux_nb.core.extensions.JobStore` and read back from it (read-only)
when asked for. Saving happens on the thread pool, outside every lock.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

from .errors import JobStateError
from .extensions import AtLeast

if TYPE_CHECKING:
    from .extensions import JobStore
    from .job import JobContext

__all__ = ["SORT_KEYS", "JobTable", "duplicate_job"]

#: what a listing may be sorted by
SORT_KEYS = ("created_at", "completed_at", "status")

log = logging.getLogger("routilux_nb.core.runtime")


def duplicate_job(job_id: str) -> JobStateError:
    return JobStateError(
        f"a job {job_id!r} already exists: omit job_id to get a generated one, or use another id; "
        f"read the existing job with rt.get_job({job_id!r})"
    )


class JobTable:
    """Jobs by id, newest last (see module docstring)."""

    def __init__(
        self, store: JobStore | None, max_finished: int, spawn: Callable[..., None]
    ) -> None:
        self.store = store
        self.max_finished = max_finished
        self.spawn = spawn
        #: the store's write-through writer: a job leaves memory once its final state is written
        self.writer: Any = None
        #: ids of jobs a previous process left unfinished, marked failed ("interrupted") at open
        self.interrupted: list[str] = []
        start_writer = getattr(store, "start_writer", None)
        if store is not None and start_writer is not None:
            self.interrupted = store.mark_interrupted()
            self.writer = start_writer()
        self.lock = threading.Lock()
        self.jobs: dict[str, JobContext] = {}
        self._finished: OrderedDict[str, None] = OrderedDict()

    def check_new(self, job_id: str) -> None:
        """Refuse an id already used by a job in memory or in the store."""
        if job_id in self.jobs or (
            self.store is not None and self.store.get_job(job_id) is not None
        ):
            raise duplicate_job(job_id)

    def add(self, jobs: list[JobContext], *, generated: bool = False) -> None:
        """Keep new jobs; a job id in use is refused. Generated ids are unique by
        construction: those jobs go in without the lock (one dict store each)."""
        if generated:
            known = self.jobs
            for job in jobs:
                known[job.job_id] = job
            return
        with self.lock:
            known = self.jobs
            for job in jobs:
                if job.job_id in known:
                    raise duplicate_job(job.job_id)
            for job in jobs:
                known[job.job_id] = job

    def finished(self, job: JobContext) -> None:
        """Called with the job's worker lock held: eviction is cheap here; saving is not.

        Below the bound this is one store into an ``OrderedDict`` (atomic under the GIL), so
        workers finishing jobs at once do not wait for each other."""
        finished = self._finished
        finished[job.job_id] = None
        if len(finished) <= self.max_finished:
            return
        with self.lock:
            evicted = []
            while len(self._finished) > self.max_finished:
                old_id, _ = self._finished.popitem(last=False)
                evicted.append(old_id)
            if not evicted:  # another worker's job evicted them meanwhile
                return
            if self.store is None:
                for old_id in evicted:
                    self.jobs.pop(old_id, None)
                return
        if self.writer is not None:
            for old_id in evicted:
                self.writer.evict_after_write(old_id, self.forget)
            return
        self.spawn(self.persist, evicted)

    def close(self) -> None:
        """Write what is pending (or save the finished jobs still in memory), close the store."""
        if self.writer is not None:
            self.writer.close()
        elif self.store is not None:
            self.persist(self.finished_in_memory())
        if self.store is not None:
            self.store.close()

    def forget(self, job_id: str) -> None:
        """Drop a job from memory (its final state is in the store)."""
        with self.lock:
            self.jobs.pop(job_id, None)

    def finished_in_memory(self) -> list[str]:
        with self.lock:
            ids = list(self._finished)  # one C call: jobs finish without the lock
        return [jid for jid in ids if jid in self.jobs]

    def persist(self, job_ids: list[str]) -> None:
        """Save jobs to the store, then forget them (visible in one place throughout)."""
        store = self.store
        if store is None:
            return
        for job_id in job_ids:
            job = self.jobs.get(job_id)
            if job is None:
                continue
            try:
                store.save_job(job)
            except Exception:  # keep it in memory rather than lose it
                log.exception("could not save job %s to %r; it stays in memory", job_id, store)
                continue
            with self.lock:
                self.jobs.pop(job_id, None)

    def stored_entry(
        self, job: Any, *, known_flows: Mapping[str, Any]
    ) -> tuple[str, str, dict[str, Any]]:
        """``(routine_id, slot_name, data)`` a stored job was submitted with, to retry it."""
        if job.status not in ("failed", "cancelled"):
            raise JobStateError(
                f"job {job.job_id!r} is {job.status}; only failed or cancelled jobs can be retried"
            )
        if not job.entry or job.entry_data is None:
            raise JobStateError(
                f"job {job.job_id!r} was stored without its entry payload, so it cannot be retried"
            )
        if job.flow_id not in known_flows:
            raise JobStateError(
                f"job {job.job_id!r} ran flow {job.flow_id!r}, which this runtime does not know; "
                "register it first (runtime.register_flow(flow) or load its DSL)"
            )
        routine_id, slot_name = job.entry
        return routine_id, slot_name, dict(job.entry_data)

    def get(self, job_id: str) -> JobContext:
        """The job, or a stored read-only job shaped like one."""
        job: Any = self.jobs.get(job_id)
        if job is None and self.store is not None:
            job = self.store.get_job(job_id)
        if job is None:
            raise KeyError(f"no job {job_id!r}")
        return cast("JobContext", job)

    def select(
        self,
        *,
        flow_id: str | None = None,
        worker_id: str | None = None,
        status: str | Iterable[str] | None = None,
    ) -> list[JobContext]:
        """Jobs in memory, newest first, filtered."""
        statuses = {status} if isinstance(status, str) else set(status) if status else None
        candidates = list(self.jobs.values())[::-1]  # one atomic copy
        return [
            j
            for j in candidates
            if (flow_id is None or j.flow_id == flow_id)
            and (worker_id is None or j.worker_id == worker_id)
            and (statuses is None or j.status in statuses)
        ]

    def page(
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
    ) -> tuple[list[Any], int]:
        """One page and the total matching (see ``Runtime.list_jobs``)."""
        if sort_by not in SORT_KEYS or order not in ("asc", "desc"):
            raise ValueError(
                f"sort_by must be one of {', '.join(SORT_KEYS)} and order asc or desc; "
                f"got sort_by={sort_by!r}, order={order!r}"
            )
        if self.writer is not None and self.store is not None:  # the store holds every job
            self.writer.flush()
            stored, total = self.store.list_jobs(
                flow_id=flow_id,
                worker_id=worker_id,
                status=status,
                limit=limit,
                offset=offset,
                created_after=created_after,
                created_before=created_before,
                sort_by=sort_by,
                order=order,
            )
            return [self.jobs.get(j.job_id, j) for j in stored], total
        plain = (
            created_after is None
            and created_before is None
            and sort_by == "created_at"
            and order == "desc"
        )
        if not plain:
            return self._sorted_page(
                flow_id,
                worker_id,
                status,
                limit,
                offset,
                created_after,
                created_before,
                sort_by,
                order,
            )
        page: list[Any]
        if flow_id is None and worker_id is None and status is None:
            kept = list(self.jobs.values())  # one atomic copy: jobs are added without the lock
            total = len(kept)
            page = kept[max(0, total - offset - limit) : max(0, total - offset)][::-1]
        else:
            matching = self.select(flow_id=flow_id, worker_id=worker_id, status=status)
            page, total = list(matching[offset : offset + limit]), len(matching)
        if self.store is None:
            return page, total
        room = limit - len(page)
        stored, stored_total = self.store.list_jobs(
            flow_id=flow_id,
            worker_id=worker_id,
            status=status,
            limit=max(room, 1),
            offset=max(0, offset - total),
        )
        in_memory = {j.job_id for j in page}
        page = page + [j for j in stored if j.job_id not in in_memory][:room]
        return page, _add(total, stored_total)

    def _sorted_page(
        self,
        flow_id: str | None,
        worker_id: str | None,
        status: Any,
        limit: int,
        offset: int,
        created_after: float | None,
        created_before: float | None,
        sort_by: str,
        order: str,
    ) -> tuple[list[Any], int]:
        """Filtered and sorted: the jobs in memory merged with the store's first pages."""
        jobs: dict[str, Any] = {}
        stored_total = 0
        if self.store is not None:
            stored, stored_total = self.store.list_jobs(
                flow_id=flow_id,
                worker_id=worker_id,
                status=status,
                limit=offset + limit,
                created_after=created_after,
                created_before=created_before,
                sort_by=sort_by,
                order=order,
            )
            jobs.update((j.job_id, j) for j in stored)
        in_memory = [
            j
            for j in self.select(flow_id=flow_id, worker_id=worker_id, status=status)
            if (created_after is None or j.created_at > created_after)
            and (created_before is None or j.created_at < created_before)
        ]
        # jobs in memory are not in the store, but for one being saved as it is evicted
        total = stored_total + sum(1 for j in in_memory if j.job_id not in jobs)
        jobs.update((j.job_id, j) for j in in_memory)
        rows = list(jobs.values())
        desc = order == "desc"
        if sort_by == "created_at":
            rows.sort(key=lambda j: j.created_at, reverse=desc)
        elif sort_by == "status":
            rows.sort(key=lambda j: (j.status, j.created_at), reverse=desc)
        else:  # unfinished jobs first in asc order, last in desc (as the stores sort them)
            rows.sort(
                key=lambda j: (j.completed_at is not None, j.completed_at or 0.0, j.created_at),
                reverse=desc,
            )
        return rows[offset : offset + limit], _at_least_as(stored_total, total)


def _add(exact: int, stored: int) -> int:
    """The jobs in memory plus the store's total (a lower bound when the store's is one)."""
    return _at_least_as(stored, exact + stored)


def _at_least_as(stored: int, total: int) -> int:
    return AtLeast(total) if isinstance(stored, AtLeast) else total
