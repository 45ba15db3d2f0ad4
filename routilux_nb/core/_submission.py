"""Creating jobs and queueing their first items, one job or a batch at a time.

Submitting is the hot path of many small jobs, so a batch is registered with the runtime in
one lock section and its first items are queued in one section of the worker's lock. A
job's timeout is armed here; when it passes the job fails at once, and the runtime's pool
replaces the threads its still-running activations hold (see ``core/_pool.py``).
"""

from __future__ import annotations

import itertools
import logging
import traceback
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from ._jobrun import KeyState
from .ids import check_id
from .job import JobContext
from .payloads import owned

if TYPE_CHECKING:
    from ._delivery import Delivery
    from ._scheduling import Schedule
    from .admission import Admission
    from .runtime import Runtime
    from .worker import Worker

__all__ = ["BATCH", "FirstItem", "Submission", "payload_of"]

log = logging.getLogger("routilux_nb.core.worker")
#: how many jobs of a batch are created before their items are queued in one lock section
BATCH = 256
#: a first item of a job: (routine id, slot name, payload)
FirstItem = tuple[str, str, dict[str, Any]]
#: unique job ids without a system call per job: a random per-process prefix and a counter
_job_prefix = uuid4().hex[:8]
_job_counter = itertools.count(1)
#: a remembered entry: flow version, routine_id, slot_name, that routine's slots and their
#: number, and the (routine, slot) they resolved to
_Entry = tuple[int, str | None, str | None, dict[str, Any], int, tuple[str, str]]
_NO_ENTRY: _Entry = (-1, None, None, {}, -1, ("", ""))


class Submission:
    """Job creation and start for one worker."""

    #: the last entry :meth:`entry` resolved
    _entry: _Entry = _NO_ENTRY

    def __init__(
        self, worker: Worker, runtime: Runtime, schedule: Schedule, delivery: Delivery, monitor: Any
    ) -> None:
        self.worker = worker
        self.runtime = runtime
        self.schedule = schedule
        self.delivery = delivery
        self.monitor = monitor
        #: keeps new jobs in the runtime's job table (a generated id goes in without a lock)
        self.keep = runtime._table.add
        self.admission: Admission

    def new_job(
        self,
        job_id: str | None,
        metadata: Mapping[str, Any] | None,
        timeout: float | None,
        job_data: Mapping[str, Any] | None,
        entry: tuple[str, str] | None,
        entry_data: dict[str, Any] | None,
    ) -> JobContext:
        if self.schedule.status == "stopped":
            self.worker._require_alive()  # raises, naming the worker
        if job_id is None:
            job_id = f"job-{_job_prefix}{next(_job_counter):08x}"
        else:
            check_id(job_id, "job id")
            self.runtime._check_new_job_id(job_id)
        job = JobContext(
            job_id,
            self.worker,
            metadata=dict(metadata) if metadata else {},
            data=dict(job_data) if job_data else {},
            timeout=timeout if timeout is not None else self.worker.flow.execution_timeout,
            log_size=self.runtime.log_size,
            entry=entry,
        )
        job._run.entry_data = entry_data
        if job_data:
            job._run.seed_data = dict(job_data)
        return job

    def start_one(self, job: JobContext, first: FirstItem, *, generated: bool) -> None:
        """:meth:`start` for one job with one first item (``submit``): the same steps."""
        self.keep([job], generated=generated)
        mon = self.monitor
        mon.job_created(job)
        if mon.armed:
            self._queue([(job, [first])])
            return
        sched = self.schedule
        lock = sched.lock
        if not lock.try_acquire():
            lock.acquire()
        try:
            if not self.admission.admit(job, [first]):  # past max_active_jobs: pending
                return
            self._start_one(job)
            rid, slot, payload = first
            q = sched.queues.get((rid, slot)) or sched.queue(rid, slot)
            if q.count >= q.max_length:
                self.delivery.wait_for_room(q, job, submitting=True)
            sched.put(job, q, payload, None)
            sched.release(job)
        except BaseException as exc:  # refused (e.g. backpressure): failed, never "completed"
            self._refused([job], exc)
            raise
        finally:
            lock.release()

    def start(
        self, batch: list[tuple[JobContext, list[FirstItem]]], *, generated: bool = False
    ) -> None:
        """Register the jobs (``generated``: their ids are new ones), then queue their first
        items in one lock section."""
        mon = self.monitor
        self.keep([job for job, _ in batch], generated=generated)
        for job, _ in batch:
            mon.job_created(job)
        self._queue(batch)

    def _queue(self, batch: list[tuple[JobContext, list[FirstItem]]]) -> None:
        """Admit registered jobs and queue their first items."""
        mon, sched = self.monitor, self.schedule
        started = 0
        try:
            admit = self.admission.admit  # past max_active_jobs a job waits, pending
            if mon.armed:  # slot breakpoints may park first items: one delivery at a time
                for job, deliveries in batch:
                    started += 1
                    with sched.lock:
                        if not admit(job, deliveries):
                            continue
                        self._start_one(job)
                    self._deliver_first(job, deliveries, submitting=True)
                return
            wait_for_room = self.delivery.wait_for_room
            with sched.lock:
                for job, deliveries in batch:
                    started += 1
                    if not admit(job, deliveries):
                        continue
                    self._start_one(job)
                    for rid, slot, payload in deliveries:
                        q = sched.queues.get((rid, slot)) or sched.queue(rid, slot)
                        if q.count >= q.max_length:
                            wait_for_room(q, job, submitting=True)
                        sched.put(job, q, payload, None)
                    sched.release(job)
        except BaseException as exc:  # refused (e.g. backpressure): failed, never "completed"
            with sched.lock:
                self._refused([job for job, _ in batch[max(0, started - 1) :]], exc)
            raise

    def _refused(self, jobs: list[JobContext], exc: BaseException) -> None:
        """Fail jobs whose submission raised ``exc`` (lock held)."""
        tb = traceback.format_exc()
        sched = self.schedule
        for job in jobs:
            sched.jobs[job.job_id] = job
            sched.finish(
                job,
                "failed",
                error=f"submission refused: {type(exc).__name__}: {exc}",
                error_type=type(exc).__name__,
                tb=tb,
            )

    def start_admitted(self, job: JobContext, deliveries: list[FirstItem]) -> None:
        """Start a job that waited for admission (lock held). Its first items are queued
        without waiting for room: at most ``max_active_jobs`` jobs hold first items."""
        sched = self.schedule
        self._start_one(job)
        if self.monitor.armed:  # breakpoints are checked outside the lock
            self.runtime._spawn(lambda: self._deliver_first(job, deliveries, submitting=False))
            return
        for rid, slot, payload in deliveries:
            sched.put(job, sched.queues.get((rid, slot)) or sched.queue(rid, slot), payload, None)
        sched.release(job)

    def _deliver_first(
        self, job: JobContext, deliveries: list[FirstItem], *, submitting: bool
    ) -> None:
        """Queue a started job's first items one by one (breakpoints may park them)."""
        for rid, slot, payload in deliveries:
            self.delivery.deliver(job, rid, slot, payload, None, submitting=submitting)
        with self.schedule.lock:
            self.schedule.release(job)

    def _start_one(self, job: JobContext) -> None:
        """Count the job as active while its first items are queued; arm its timeout."""
        self.schedule.jobs[job.job_id] = job
        job._run.active += 1
        if job.timeout:
            job._run.timeout_handle = self.runtime.scheduler.call_later(
                job.timeout, self.timed_out, job
            )

    def timed_out(self, job: JobContext) -> None:
        """The job's timeout passed: fail it, and have the pool replace threads it still holds."""
        with self.schedule.lock:
            if job.is_finished:
                return
            stuck = [rid for rid, state in job._run.keys.items() if state == KeyState.RUNNING]
            self.schedule.finish(
                job,
                "failed",
                error=f"job {job.job_id!r} exceeded its timeout of {job.timeout} s",
                error_type="JobTimeoutError",
            )
            if not stuck:
                return
            job._run.lent = self.runtime._lend_threads(len(stuck))
        if job._run.lent:
            log.warning(
                "job %s timed out while %s still ran; the pool starts %d replacement thread(s) "
                "until they return",
                job.job_id,
                ", ".join(stuck),
                job._run.lent,
            )

    def entry(self, routine_id: str | None, slot_name: str | None) -> tuple[str, str]:
        """The (routine, slot) ``submit`` delivers to (``Worker._resolve_entry``), remembered
        while neither the flow nor that routine's slots change."""
        cached, version = self._entry, self.worker.flow.version
        if (
            cached[0] == version
            and cached[1] == routine_id
            and cached[2] == slot_name
            and len(cached[3]) == cached[4]
        ):
            return cached[5]
        resolved = self.worker._resolve_entry(routine_id, slot_name)
        slots = self.worker.flow.routines[resolved[0]].slot_specs
        self._entry = (version, routine_id, slot_name, slots, len(slots), resolved)
        return resolved


def payload_of(data: object) -> dict[str, Any]:
    if type(data) is dict:  # the common case: no ABC check
        return owned(dict(data))
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise TypeError(f"job data must be a mapping (dict), got {type(data).__name__}")
    return owned(dict(data))
