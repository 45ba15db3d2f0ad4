"""How a job ends: its status changes, and finishing it (discarding what it still holds).

Part of the worker's scheduling state machine (:class:`~routilux_nb.core._scheduling.Schedule`
mixes it in); every method runs with the worker's lock held. A finished job's ``done`` event
is set here, its callbacks run and the runtime hears of it, in that order, after the monitor
recorded the status change.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._jobrun import ALREADY_DONE, FINISHED, JobStatus, KeyState, call_done_callbacks
from .clock import now

if TYPE_CHECKING:
    from .job import JobContext
    from .slot import SlotQueue

__all__ = ["JobEnding"]


class JobEnding:
    """Status changes and job ends (mixed into ``Schedule``; lock held)."""

    monitor: Any
    queues: dict[tuple[str, str], SlotQueue]
    ready: deque[tuple[JobContext, str]]
    jobs: dict[str, JobContext]
    room: threading.Condition
    on_finished: Callable[[JobContext], None]
    jobs_processed: int
    jobs_failed: int

    def set_status(self, job: JobContext, status: JobStatus, *, started: bool = False) -> None:
        old = job.status
        job.status = status
        if started and job.started_at is None:
            job.started_at = now()
        self.monitor.job_status(job, old)

    def finish(
        self,
        job: JobContext,
        status: JobStatus,
        *,
        error: str | None = None,
        error_type: str | None = None,
        tb: str | None = None,
        reason: str | None = None,
    ) -> None:
        """End a job now: queued, parked and held work is discarded and counted."""
        if job.status in FINISHED:
            return
        run = job._run
        if error is not None:
            job.error, job.error_type, job.error_traceback = error, error_type, tb
        if status == "cancelled":
            job.cancelled_at = now()
            job.cancel_reason = reason
        held = len(run.parked) + len(run.held_retries)
        run.discarded += held
        dropped = self.discard_items(job) + held
        run.parked = ()
        run.held_retries = ()
        wake = run.wake
        if wake:
            for handle in wake.values():
                handle.cancel()
            wake.clear()
        for handle in run.retry_timers:
            handle.cancel()
        run.retry_timers = ()
        self.complete(job, status)
        if dropped:
            job.log(None, "discarded", count=dropped, reason=status)
            self.monitor.discarded(job, dropped, status)

    def discard_items(self, job: JobContext) -> int:
        dropped = 0
        jid = job.job_id
        for q in self.queues.values():
            items = q.by_job.pop(jid, None)
            if items:
                dropped += len(items)
                q.count -= len(items)
        run = job._run
        run.queued = 0
        if dropped:
            run.discarded += dropped
            self.room.notify_all()
        if self.ready:
            kept = [k for k in self.ready if k[0] is not job]
            if len(kept) != len(self.ready):
                self.ready.clear()
                self.ready.extend(kept)
                keys = run.keys
                for rid, state in list(keys.items()):
                    if state == KeyState.READY:
                        del keys[rid]  # idle
        return dropped

    def complete(self, job: JobContext, status: JobStatus) -> None:
        run = job._run
        job.completed_at = now()
        if run.timeout_handle is not None:
            run.timeout_handle.cancel()
        self.jobs_processed += 1
        if status == "failed":
            self.jobs_failed += 1
        self.jobs.pop(job.job_id, None)
        old, job.status = job.status, status  # ``set_status``, inline
        self.monitor.job_status(job, old)
        done = run.done
        if done is None:  # nobody waits yet: later waiters find it set, and nothing is made
            run.done = ALREADY_DONE
        else:
            done.set()
        if run.callbacks:
            call_done_callbacks(job, run)
        self.on_finished(job)
