"""Admission control: how many jobs of a worker run at once; the others wait, ``pending``.

A worker *admits* at most ``max_active_jobs`` jobs at a time (default
:data:`DEFAULT_MAX_ACTIVE_JOBS`; ``None``: no limit). An admitted job has its first items
queued and its timeout armed; a job submitted past the limit is registered at once (it is
returned, listed, can be waited on or cancelled) but stays ``pending``, with its first items
kept aside, until an admitted job finishes. Pending jobs are admitted in the order they were
submitted. Submitting never waits for admission, so ``submit``, ``submit_many`` and
``worker.map`` return at once whatever the load.

Why: a slot bounds the items *each job* holds in it (see ``core/_delivery.py``): that alone
keeps jobs from deadlocking each other, and admission keeps the total bounded: one slot
queue holds at most ``max_active_jobs * max_length`` items (plus what aggregating routines
hold for their jobs). The default, 256, stays well below the default slot capacity (1,000),
so the entry slot can carry the first item of every admitted job and a submitter seldom
waits for room there; a burst of thousands of jobs waits as pending jobs, not as items.

``worker.map(max_in_flight=N)`` limits how many jobs of that run exist unfinished; the
worker's ``max_active_jobs`` limits how many of all its jobs run. With ``N`` above it, the
run's extra jobs wait ``pending`` in the worker rather than in the run.

A pending job's timeout counts from its admission. A routine that submits jobs to its own
worker and waits for them needs ``max_active_jobs`` above the number of such routines
running at once, or the jobs it waits for stay pending.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._jobrun import FINISHED

if TYPE_CHECKING:
    from ._scheduling import Schedule
    from .job import JobContext

__all__ = ["DEFAULT_MAX_ACTIVE_JOBS", "Admission", "check_max_active_jobs"]

#: jobs a worker runs at once unless ``Worker(max_active_jobs=...)`` says otherwise
DEFAULT_MAX_ACTIVE_JOBS = 256
#: a job's first items, as ``Submission`` queues them: (routine id, slot name, payload)
_FirstItems = list[tuple[str, str, dict[str, Any]]]


def check_max_active_jobs(value: int | None) -> int | None:
    """``value`` when it is a positive int or ``None`` (no limit); a clear error otherwise."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"max_active_jobs must be a positive int or None (no limit), got {value!r}"
        )
    return value


class Admission:
    """The admitted and pending jobs of one worker. Every method runs with the worker's lock
    held; ``start`` (queue an admitted job's first items) comes in as a callable."""

    def __init__(
        self,
        schedule: Schedule,
        max_active_jobs: int | None,
        start: Callable[[JobContext, _FirstItems], None],
    ) -> None:
        self.schedule = schedule
        self.limit = max_active_jobs
        self.start = start
        #: ids of the admitted jobs that have not finished
        self.admitted: set[str] = set()
        #: jobs waiting for admission, oldest first, with their first items
        self.pending: deque[tuple[JobContext, _FirstItems]] = deque()
        self._admitting = False
        #: set when the worker stops: nothing more is admitted
        self.closed = False

    def admit(self, job: JobContext, first: _FirstItems) -> bool:
        """True when ``job`` may start now (the caller starts it); else it is kept pending."""
        if self.pending and self.has_room():
            self.admit_pending()  # the pending ones first (any cancelled ones are dropped)
        if not self.pending and not self.closed:
            limit = self.limit
            if limit is None or len(self.admitted) < limit:  # ``has_room``, inline
                self.admitted.add(job.job_id)
                return True
        self.schedule.jobs[job.job_id] = job
        self.pending.append((job, first))
        return False

    def has_room(self) -> bool:
        return not self.closed and (self.limit is None or len(self.admitted) < self.limit)

    def job_ended(self, job: JobContext) -> None:
        """``job`` finished: admit pending jobs into the room it leaves."""
        admitted = self.admitted
        if job.job_id in admitted:
            admitted.discard(job.job_id)
            if self.pending:
                self.admit_pending()

    def admit_pending(self) -> None:
        """Start pending jobs, oldest first, while there is room (re-entrant calls return:
        a job that ends while it is being started leaves its room to this loop)."""
        if self._admitting:
            return
        self._admitting = True
        try:
            pending, admitted = self.pending, self.admitted
            while pending and self.has_room():
                job, first = pending.popleft()
                if job.status in FINISHED:  # cancelled while pending
                    continue
                admitted.add(job.job_id)
                self.start(job, first)
        finally:
            self._admitting = False

    def set_limit(self, max_active_jobs: int | None) -> None:
        """Change the limit; a higher one admits pending jobs at once."""
        self.limit = check_max_active_jobs(max_active_jobs)
        self.admit_pending()
