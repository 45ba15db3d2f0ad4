"""Workers: a flow running on the runtime's thread pool, with queues of its own.

How work moves
--------------
Every queued item carries its job. When items for routine ``R`` of job ``J`` arrive, the
key ``(J, R)`` becomes *ready* (if ``R``'s activation policy agrees) and is appended to the
worker's ready deque. *Drainer* tasks on the runtime's pool pop ready keys and run them;
one drainer runs as many keys as it finds, so a chain of routines runs without a thread hop
per item, and at most ``max_concurrency`` drainers run at once. A key is never ready or
running twice, so one job's routine sees its items in order and items of different jobs
never meet in one activation.

Jobs never block each other: a slot's ``max_length`` bounds the items *each job* holds in
it, so a producer waits only for its own job's items (which its own consumer is running,
ready to run, or holding until the job's upstream is done: then it does not wait at all);
see ``core/_delivery.py``. At most ``max_active_jobs`` jobs run at once; later ones wait
``pending`` and start in order (``core/admission.py``).

The worker is the public handle; the engine behind it is split by role:

================================  ==========================================================
``core/_jobrun.py``               the engine's per-job state (``JobRun``), ``KeyState``
``core/_scheduling.py``           the lock-held state machine: ready keys, job activity, ends
``core/_lock.py``                 its lock, which gives the GIL away when contended (no convoy)
``core/_delivery.py``             emit, routing, backpressure (``_fullness.py``: when to wait)
``core/admission.py``             how many jobs run at once; pending jobs
``core/_execution.py``            drainers, the one execution path, error strategies, retries
``core/_parking.py``              breakpoints: park, and the public stepping API
``core/_submission.py``           creating jobs and queueing their first items (batches)
``core/_pool.py``                 the runtime's thread pool
``core/_worker_views.py``         read-only views: history, statistics, queue status, to_dict
================================  ==========================================================
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from ._delivery import Delivery
from ._execution import Execution
from ._jobrun import FINISHED, Done, WorkerStatus, done_event
from ._parking import Parking
from ._scheduling import Schedule
from ._submission import BATCH, FirstItem, Submission, payload_of
from ._worker_views import WorkerViews
from .admission import DEFAULT_MAX_ACTIVE_JOBS, Admission, check_max_active_jobs
from .clock import now
from .display import HtmlRepr
from .errors import FlowError, JobStateError, UnknownSlotError, WorkerNotRunningError
from .flow_checks import entry_hint
from .ids import check_id
from .job import JobContext, JobStatus
from .mapping import DEFAULT_MAX_IN_FLIGHT, MapRun
from .payloads import owned

if TYPE_CHECKING:
    from .flow import Flow
    from .runtime import Runtime

__all__ = ["WORKER_STATUSES", "Worker"]

WORKER_STATUSES: tuple[WorkerStatus, ...] = ("running", "paused", "stopped")
log = logging.getLogger(__name__)


class Worker(WorkerViews, HtmlRepr):
    """Runs one flow. Create with :meth:`Runtime.start`; submit with :meth:`submit`."""

    def __init__(
        self,
        runtime: Runtime,
        flow: Flow,
        worker_id: str | None = None,
        max_concurrency: int | None = None,
        max_active_jobs: int | None = DEFAULT_MAX_ACTIVE_JOBS,
    ) -> None:
        check_max_active_jobs(max_active_jobs)
        self.runtime = runtime
        self.flow = flow
        flow._workers.add(self)  # a redefined routine's slots may not change under a worker
        self.worker_id = (
            check_id(worker_id, "worker id")
            if worker_id is not None
            else f"worker-{uuid4().hex[:12]}"
        )
        self.created_at = self.started_at = now()
        self.completed_at: float | None = None
        self.error: str | None = None
        self.error_traceback: str | None = None
        self.max_concurrency = max_concurrency or runtime.max_threads
        #: the version of the flow this worker runs (recorded on every job it starts)
        self.flow_version = runtime.version_of(flow)
        mon = self._mon = runtime.monitor
        self._sched = Schedule(
            flow,
            mon,
            spawn=self._spawn_drainer,
            call_at=runtime.scheduler.call_at,
            on_finished=self._job_finished,
            max_concurrency=self.max_concurrency,
        )
        self._delivery = Delivery(self._sched, mon)
        self._execution = Execution(self, runtime, self._sched, self._delivery, mon)
        #: breakpoint parking and the stepping API (``release``, ``step``, ``drop``)
        self.parking = Parking(runtime, self._sched, self._delivery, self._execution, mon)
        self._delivery.bind(self.parking, self._execution)
        self._execution.bind(self.parking)
        self._submission = Submission(self, runtime, self._sched, self._delivery, mon)
        self._admission = Admission(self._sched, max_active_jobs, self._submission.start_admitted)
        self._submission.admission = self._admission
        self._table_finished = runtime._table.finished
        #: how ``Routine.emit`` and ``ctx.emit`` reach this worker
        self._emit = self._delivery.emit

    def _spawn_drainer(self) -> None:
        self.runtime._spawn(self._execution.drain)

    def _job_finished(self, job: JobContext) -> None:
        """A job ended (lock held): record it, then admit pending jobs into its room."""
        self._table_finished(job)  # the runtime's job table keeps it (or evicts the oldest)
        self._admission.job_ended(job)

    # -- state ---------------------------------------------------------------------------
    @property
    def flow_id(self) -> str:
        return self.flow.flow_id

    @property
    def status(self) -> WorkerStatus:
        """``running``, ``paused`` or ``stopped``."""
        return self._sched.status

    @property
    def jobs_processed(self) -> int:
        return self._sched.jobs_processed

    @property
    def jobs_failed(self) -> int:
        return self._sched.jobs_failed

    @property
    def max_active_jobs(self) -> int | None:
        """Jobs run at once (``None``: no limit); more wait ``pending`` (see :mod:`.admission`).

        Setting it applies at once: a higher limit admits pending jobs now."""
        return self._admission.limit

    @max_active_jobs.setter
    def max_active_jobs(self, value: int | None) -> None:
        with self._sched.lock:
            self._admission.set_limit(value)

    @property
    def connection_counts(self) -> dict[int, int]:
        """Items sent through each connection of the flow, by connection index."""
        return self._delivery.connection_counts

    # -- jobs ----------------------------------------------------------------------------
    def submit(
        self,
        routine_id: str | Mapping[str, Any] | None = None,
        slot_name: str | None = None,
        data: Mapping[str, Any] | None = None,
        *,
        job_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        job_data: Mapping[str, Any] | None = None,
    ) -> JobContext:
        """Start a job by putting ``data`` into ``routine_id.slot_name``.

        With one entry routine (one that no connection feeds) and one slot, both may be
        left out, and the data may come first: ``worker.submit({"x": 1})``. ``timeout``
        (default: the flow's ``execution_timeout``) fails the job when exceeded.
        ``job_data`` seeds the job's shared ``data``; ``job_id`` (default: a new one) must be
        unused.
        """
        if routine_id is not None and type(routine_id) is not str:
            if isinstance(routine_id, Mapping) and slot_name is None and data is None:
                routine_id, data = None, routine_id
            elif not isinstance(routine_id, str):
                raise TypeError(
                    f"routine_id must be a routine id (str), got {type(routine_id).__name__}; "
                    "pass the job's data as data={...}"
                )
        submission = self._submission
        entry = submission.entry(routine_id, slot_name)
        payload = payload_of(data)
        job = submission.new_job(job_id, metadata, timeout, job_data, entry, payload)
        # the entry kept for retries and the delivered item own separate frames (core.payloads)
        submission.start_one(job, (*entry, owned(payload)), generated=job_id is None)
        return job

    def submit_many(
        self,
        items: Iterable[Mapping[str, Any]],
        routine_id: str | None = None,
        slot_name: str | None = None,
        *,
        metadata: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> list[JobContext]:
        """One job per item (e.g. the rows of a DataFrame as dicts), created in batches.

        The cheap way to submit many small jobs: their items are queued a batch at a time.
        Returns the jobs in the order of ``items``.

        >>> # jobs = worker.submit_many(df.to_dict("records")); [j.wait() for j in jobs]
        """
        rid, slot = self._resolve_entry(routine_id, slot_name)
        entry = (rid, slot)
        jobs: list[JobContext] = []
        batch: list[tuple[JobContext, list[FirstItem]]] = []
        for item in items:
            payload = payload_of(item)
            job = self._submission.new_job(None, metadata, timeout, None, entry, payload)
            batch.append((job, [(rid, slot, owned(payload))]))
            jobs.append(job)
            if len(batch) >= BATCH:
                self._submission.start(batch, generated=True)
                batch = []
        if batch:
            self._submission.start(batch, generated=True)
        return jobs

    def map(
        self,
        params: Any,
        *,
        max_in_flight: int | None = DEFAULT_MAX_IN_FLIGHT,
        routine_id: str | None = None,
        slot_name: str | None = None,
        timeout: float | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> MapRun:
        """Submit one job per item of ``params`` (dicts, or a DataFrame's rows); see :class:`MapRun`.

        At most ``max_in_flight`` jobs (default 32; ``None``: no limit) are unfinished at
        once; of those, the worker runs at most ``max_active_jobs`` and keeps the rest
        ``pending``. Each item is the entry payload, as in ``submit(data=item)``.

        >>> run = worker.map(df, max_in_flight=8)        # doctest: +SKIP
        >>> run.wait().to_pandas()                        # doctest: +SKIP
        """
        return MapRun(
            self,
            params,
            max_in_flight=max_in_flight,
            routine_id=routine_id,
            slot_name=slot_name,
            timeout=timeout,
            metadata=metadata,
        )

    def retry(self, job: JobContext, *, job_id: str | None = None) -> JobContext:
        """A new job that retries a failed or cancelled one from the step that failed.

        A job that failed in a routine restarts at that routine with the items that
        activation had and a copy of the job's data; any other job restarts from its entry.
        The new job's metadata has ``retry_of``.
        """
        if job.status not in ("failed", "cancelled"):
            raise JobStateError(
                f"job {job.job_id!r} is {job.status}; only failed or cancelled jobs can be retried"
            )
        self._require_alive("retry a job on")
        metadata = {**job.metadata, "retry_of": job.job_id}
        run = job._run
        step = run.failed_step
        if step is not None:
            rid, inputs = step
            deliveries = [(rid, slot, dict(p)) for slot, items in inputs.items() for p in items]
            new = self._submission.new_job(
                job_id, metadata, job.timeout, job.data, job.entry, run.entry_data
            )
        else:
            assert job.entry is not None
            deliveries = [(*job.entry, dict(run.entry_data or {}))]
            new = self._submission.new_job(
                job_id, metadata, job.timeout, run.seed_data, job.entry, run.entry_data
            )
        self._submission.start([(new, deliveries)], generated=job_id is None)
        return new

    def finish_job(
        self,
        job: JobContext,
        status: JobStatus,
        *,
        error: str | None = None,
        error_type: str | None = None,
        reason: str | None = None,
    ) -> None:
        """End ``job`` now (``job.cancel()``, ``complete()``, ``fail()``); pending work is discarded."""
        with self._sched.lock:
            self._sched.finish(job, status, error=error, error_type=error_type, reason=reason)

    def done_event(self, job: JobContext) -> Done:
        """An event set when ``job`` finishes (``job.wait`` waits on it)."""
        done = done_event(job._run)
        if not done.is_set() and job.status in FINISHED:  # read after publishing (done_event)
            done.set()
        return done

    def add_done_callback(self, job: JobContext, fn: Callable[[JobContext], None]) -> bool:
        """Keep ``fn`` for when ``job`` finishes (``job.add_done_callback``); False if it has."""
        with self._sched.lock:
            if job.status in FINISHED:
                return False
            job._run.callbacks += (fn,)
            return True

    # -- lifecycle -----------------------------------------------------------------------
    def pause(self) -> Worker:
        """Start no new activations (running ones finish); queued items wait. Nothing is lost.

        A paused worker starts nothing at all: an emitter blocked on a full slot waits
        (or times out) instead of running the consumer itself.
        """
        with self._sched.lock:
            self._require_alive("pause")
            old, self._sched.status = self._sched.status, "paused"
        self._mon.worker_status(self, old)
        return self

    def resume(self) -> Worker:
        sched = self._sched
        with sched.lock:
            self._require_alive("resume")
            old, sched.status = sched.status, "running"
            sched.spawn_drainers()
            jobs = list(sched.jobs.values())
        self.parking.worker_resumed(jobs)
        self._mon.worker_status(self, old)
        return self

    def stop(self, *, drain: bool = False, timeout: float = 10.0) -> Worker:
        """Stop the worker. Unfinished jobs are cancelled, or with ``drain=True`` awaited first."""
        sched = self._sched
        if sched.status == "stopped":
            return self
        if drain:
            deadline = time.monotonic() + timeout
            for job in list(sched.jobs.values()):
                job._done_event().wait(max(0.0, deadline - time.monotonic()))
        with sched.lock:
            self._admission.closed = True  # admit nothing that would be cancelled at once
        for job in list(sched.jobs.values()):
            if not job.is_finished:
                self.finish_job(job, "cancelled", reason=f"worker {self.worker_id} stopped")
        with sched.lock:
            old, sched.status = sched.status, "stopped"
            self.completed_at = now()
            sched.room.notify_all()
        self._mon.worker_status(self, old)
        return self

    def __repr__(self) -> str:
        return (
            f"Worker(worker_id={self.worker_id!r}, flow_id={self.flow_id!r}, status={self.status!r}, "
            f"jobs_processed={self.jobs_processed}, jobs_failed={self.jobs_failed})"
        )

    # -- helpers -------------------------------------------------------------------------
    def _require_alive(self, what: str | None = None) -> None:
        if self._sched.status == "stopped":
            doing = (
                f"cannot {what} worker {self.worker_id!r}: it is stopped"
                if what
                else f"worker {self.worker_id!r} is stopped and accepts no jobs"
            )
            raise WorkerNotRunningError(f"{doing}; start a new one with runtime.start(flow)")

    def _resolve_entry(self, routine_id: str | None, slot_name: str | None) -> tuple[str, str]:
        flow = self.flow
        if routine_id is None:
            entries = flow.entry_routines()
            if len(entries) != 1:
                raise FlowError(
                    f"flow {flow.flow_id!r} has entry routines {entries}: say which one with "
                    f"routine_id{entry_hint(flow, entries)}"
                )
            routine_id = entries[0]
        routine = flow.get_routine(routine_id)
        if slot_name is None:
            if len(routine.slot_specs) != 1:
                raise UnknownSlotError(routine_id, "<unspecified>", routine.slot_specs)
            slot_name = next(iter(routine.slot_specs))
        routine.slot(slot_name)
        return routine_id, slot_name
