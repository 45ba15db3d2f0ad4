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

Every activation, whatever fed it, goes through :meth:`Worker._run`: the same context,
hooks, breakpoints, error strategies and history.

A job is *active* while it has ready or running keys, pending timers (retries,
time-based policies) or parked items. When that count falls to zero the job is idle:
policies that flush on idle (batches) take what is left; otherwise the job completes.

Backpressure: an emit into a full slot waits for room. While it waits it runs the ready
activations of the slot's routine itself, so a pool full of blocked emitters cannot
deadlock; after ``put_timeout`` seconds it raises ``BackpressureTimeout``.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import traceback
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from .clock import iso, now
from .context import ActivationContext, current_activation
from .error_handling import ErrorHandler
from .errors import (
    BackpressureTimeout,
    FlowError,
    JobStateError,
    JobTimeoutError,
    UnknownSlotError,
    WorkerNotRunningError,
)
from .job import FINISHED, JobContext, Parked
from .mapping import DEFAULT_MAX_IN_FLIGHT, MapRun
from .offload import call_offloaded
from .slot import SlotQueue

if TYPE_CHECKING:
    from .flow import Flow
    from .runtime import Runtime

__all__ = ["WORKER_STATUSES", "Worker"]

WORKER_STATUSES = ("running", "paused", "stopped")
IDLE, READY, RUNNING = 0, 1, 2
_DEFAULT_HANDLER = ErrorHandler()
log = logging.getLogger(__name__)
_act_ids = itertools.count(1)
_MAX_INLINE_DEPTH = 16
_job_prefix = uuid4().hex[:8]
_job_counter = itertools.count(1)


def _new_job_id() -> str:
    """Unique job ids without a system call per job: a random per-process prefix and a counter."""
    return f"job-{_job_prefix}{next(_job_counter):08x}"


class Worker:
    """Runs one flow. Create with :meth:`Runtime.start`; submit with :meth:`submit`."""

    def __init__(self, runtime: Runtime, flow: Flow, worker_id: str | None = None,
                 max_concurrency: int | None = None) -> None:
        self.runtime = runtime
        self.flow = flow
        self.worker_id = worker_id or f"worker-{uuid4().hex[:12]}"
        self.status = "running"
        self.created_at = self.started_at = now()
        self.completed_at: float | None = None
        self.jobs_processed = 0
        self.jobs_failed = 0
        self.error: str | None = None
        self.error_traceback: str | None = None
        self.max_concurrency = max_concurrency or runtime.max_threads
        #: the version of the flow this worker runs (recorded on every job it starts)
        self.flow_version = runtime.version_of(flow)
        self.connection_counts: dict[int, int] = {}
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)
        self._queues: dict[tuple[str, str], SlotQueue] = {}
        self._ready: deque[tuple[JobContext, str]] = deque()
        self._jobs: dict[str, JobContext] = {}
        self._drainers = 0
        self._busy = 0
        self._mon = runtime.monitor
        self._inline = threading.local()

    # -- public API ----------------------------------------------------------------------
    @property
    def flow_id(self) -> str:
        return self.flow.flow_id

    def submit(self, routine_id: str | None = None, slot_name: str | None = None,
               data: Mapping[str, Any] | None = None, *, job_id: str | None = None,
               metadata: Mapping[str, Any] | None = None, timeout: float | None = None,
               job_data: Mapping[str, Any] | None = None) -> JobContext:
        """Start a job by putting ``data`` into ``routine_id.slot_name``.

        With one entry routine (one that no connection feeds) and one slot, both may be
        left out. ``timeout`` (default: the flow's ``execution_timeout``) fails the job
        when exceeded. ``job_data`` seeds the job's shared ``data``.
        """
        if self.status == "stopped":
            raise WorkerNotRunningError(
                f"worker {self.worker_id!r} is stopped and accepts no jobs; start a new one with runtime.start(flow)"
            )
        rid, slot = self._resolve_entry(routine_id, slot_name)
        if data is not None and not isinstance(data, Mapping):
            raise TypeError(f"job data must be a mapping (dict), got {type(data).__name__}")
        payload = dict(data or {})
        return self._start_job([(rid, slot, payload)], job_id=job_id, metadata=metadata, timeout=timeout,
                               job_data=job_data, entry=(rid, slot), entry_data=payload)

    def map(self, params: Any, *, max_in_flight: int | None = DEFAULT_MAX_IN_FLIGHT,
            routine_id: str | None = None, slot_name: str | None = None,
            timeout: float | None = None, metadata: Mapping[str, Any] | None = None) -> MapRun:
        """Submit one job per item of ``params`` (dicts, or a DataFrame's rows); see :class:`MapRun`.

        At most ``max_in_flight`` jobs (default 32; ``None``: no limit) are unfinished at
        once. Each item is the entry payload, as in ``submit(data=item)``.

        >>> run = worker.map(df, max_in_flight=8)        # doctest: +SKIP
        >>> run.wait().to_pandas()                        # doctest: +SKIP
        """
        return MapRun(self, params, max_in_flight=max_in_flight, routine_id=routine_id,
                      slot_name=slot_name, timeout=timeout, metadata=metadata)

    def retry(self, job: JobContext, *, job_id: str | None = None) -> JobContext:
        """A new job that retries a failed or cancelled one from the step that failed.

        A job that failed in a routine restarts at that routine with the items that
        activation had and a copy of the job's data; any other job restarts from its entry.
        The new job's metadata has ``retry_of``.
        """
        if job.status not in ("failed", "cancelled"):
            raise JobStateError(f"job {job.job_id!r} is {job.status}; only failed or cancelled jobs can be retried")
        if self.status == "stopped":
            raise WorkerNotRunningError(f"worker {self.worker_id!r} is stopped; retry on a running worker")
        metadata = {**job.metadata, "retry_of": job.job_id}
        step = job._failed_step
        if step is not None:
            rid, inputs = step
            deliveries = [(rid, slot, dict(p)) for slot, items in inputs.items() for p in items]
            return self._start_job(deliveries, job_id=job_id, metadata=metadata, timeout=job.timeout,
                                   job_data=job.data, entry=job.entry, entry_data=job._entry_data)
        assert job.entry is not None
        return self._start_job([(*job.entry, dict(job._entry_data or {}))], job_id=job_id, metadata=metadata,
                               timeout=job.timeout, job_data=job._seed_data, entry=job.entry,
                               entry_data=job._entry_data)

    def _start_job(self, deliveries: list[tuple[str, str, dict[str, Any]]], *, job_id: str | None,
                   metadata: Mapping[str, Any] | None, timeout: float | None, job_data: Mapping[str, Any] | None,
                   entry: tuple[str, str] | None, entry_data: dict[str, Any] | None) -> JobContext:
        if self.status == "stopped":
            raise WorkerNotRunningError(
                f"worker {self.worker_id!r} is stopped and accepts no jobs; start a new one with runtime.start(flow)"
            )
        job_id = job_id or _new_job_id()
        self.runtime._check_new_job_id(job_id)
        timeout = timeout if timeout is not None else self.flow.execution_timeout
        job = JobContext(job_id, self, metadata=dict(metadata or {}), data=dict(job_data or {}),
                         timeout=timeout, log_size=self.runtime.log_size, entry=entry)
        job._entry_data = entry_data
        job._seed_data = dict(job_data or {})
        self.runtime._add_job(job)
        self._mon.job_created(job)
        with self._lock:
            self._jobs[job_id] = job
            job._active += 1  # held while the first items are delivered
        if timeout:
            job._timeout_handle = self.runtime.scheduler.call_later(timeout, self._job_timed_out, job)
        try:
            for rid, slot, payload in deliveries:
                self._deliver(job, rid, slot, payload, None)
        except BaseException as exc:  # refused (e.g. backpressure): the job is failed, never "completed"
            self._finish_job(job, "failed", error=f"submission refused: {type(exc).__name__}: {exc}",
                             error_type=type(exc).__name__, tb=traceback.format_exc())
            raise
        finally:
            with self._lock:
                self._release(job)
        return job

    def pause(self) -> Worker:
        """Start no new activations (running ones finish); queued items wait. Nothing is lost."""
        with self._lock:
            self._require_alive("pause")
            old, self.status = self.status, "paused"
        self._mon.worker_status(self, old)
        return self

    def resume(self) -> Worker:
        with self._lock:
            self._require_alive("resume")
            old, self.status = self.status, "running"
            self._spawn_drainers()
            jobs = list(self._jobs.values())
        for job in jobs:
            if job._held_retries:
                self._release_retries(job)
        self._mon.worker_status(self, old)
        return self

    def stop(self, *, drain: bool = False, timeout: float = 10.0) -> Worker:
        """Stop the worker. Unfinished jobs are cancelled, or with ``drain=True`` awaited first."""
        if self.status == "stopped":
            return self
        if drain:
            deadline = time.monotonic() + timeout
            for job in list(self._jobs.values()):
                job._done_event().wait(max(0.0, deadline - time.monotonic()))
        for job in list(self._jobs.values()):
            if not job.is_finished:
                self._finish_job(job, "cancelled", reason=f"worker {self.worker_id} stopped")
        with self._lock:
            old, self.status = self.status, "stopped"
            self.completed_at = now()
            self._room.notify_all()
        self._mon.worker_status(self, old)
        return self

    @property
    def history(self) -> Any:
        """Execution history (last emits) of this worker: ``.to_list()``, ``.to_pandas()``."""
        return self.runtime.monitor.worker_history(self)

    def statistics(self) -> dict[str, Any]:
        """Jobs processed/failed, success rate, durations, per-routine statistics."""
        return self.runtime.monitor.worker_statistics(self)

    def routine_states(self) -> dict[str, dict[str, Any]]:
        return self.runtime.monitor.routine_states(self)

    @property
    def active_jobs(self) -> list[JobContext]:
        with self._lock:
            return list(self._jobs.values())

    def queue_status(self, job_id: str | None = None) -> dict[str, list[dict[str, Any]]]:
        """Queue status of every slot of every routine: ``{routine_id: [status, ...]}``."""
        out: dict[str, list[dict[str, Any]]] = {}
        with self._lock:
            for rid, routine in list(self.flow.routines.items()):
                out[rid] = [self._queue(rid, s).status(job_id) for s in routine.slot_specs]
        return out

    def pause_points(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{"job_id": p.job.job_id, **p.location()} for j in self._jobs.values() for p in j.parked]

    def to_dict(self) -> dict[str, Any]:
        """The spec's WorkerState fields (histories and routine states come from the monitor)."""
        with self._lock:
            pending = len(self._ready)
            active = len(self._jobs)
        d = {
            "worker_id": self.worker_id,
            "flow_id": self.flow_id,
            "status": self.status,
            "created_at": iso(self.created_at),
            "started_at": iso(self.started_at),
            "completed_at": iso(self.completed_at),
            "jobs_processed": self.jobs_processed,
            "jobs_failed": self.jobs_failed,
            "active_jobs": active,
            "error": self.error,
            "error_traceback": self.error_traceback,
            "pause_points": self.pause_points(),
            "pending_tasks": pending,
        }
        return d

    def __repr__(self) -> str:
        return (f"Worker(worker_id={self.worker_id!r}, flow_id={self.flow_id!r}, status={self.status!r}, "
                f"jobs_processed={self.jobs_processed}, jobs_failed={self.jobs_failed})")

    # -- helpers -------------------------------------------------------------------------
    def _require_alive(self, what: str) -> None:
        if self.status == "stopped":
            raise WorkerNotRunningError(f"cannot {what} worker {self.worker_id!r}: it is stopped")

    def _resolve_entry(self, routine_id: str | None, slot_name: str | None) -> tuple[str, str]:
        flow = self.flow
        if routine_id is None:
            entries = flow.entry_routines()
            if len(entries) != 1:
                raise FlowError(
                    f"flow {flow.flow_id!r} has entry routines {entries}: say which one with routine_id"
                )
            routine_id = entries[0]
        routine = flow.get_routine(routine_id)
        if slot_name is None:
            if len(routine.slot_specs) != 1:
                raise UnknownSlotError(routine_id, "<unspecified>", routine.slot_specs)
            slot_name = next(iter(routine.slot_specs))
        routine.slot(slot_name)
        return routine_id, slot_name

    def _queue(self, rid: str, slot: str) -> SlotQueue:
        q = self._queues.get((rid, slot))
        if q is None:
            q = self._queues[(rid, slot)] = SlotQueue(rid, self.flow.get_routine(rid).slot(slot))
        return q

    # -- moving items --------------------------------------------------------------------
    def _emit(self, act: ActivationContext, event: str, payload: dict[str, Any]) -> None:
        """Route one emitted payload to every connected slot at once (called from logic)."""
        rid = act.routine.routine_id
        routes = self.flow.routes(rid, event)
        if not routes and event not in act.routine.event_specs:
            act.routine.event(event)  # raises UnknownEventError naming the events
        job = act.job
        if job.status in FINISHED:
            job.discarded += len(routes)
            return
        mon = self._mon
        mon.emit(act, event, payload)
        hop = act.hops.get(event)
        if hop is None:
            hop = act.hops[event] = (act.hop, act.act_id, rid, event)
        if mon.armed:
            bp = mon.check("event", job, rid, event, payload)
            if bp is not None:
                self._park(Parked("event", job, rid, payload, hop, event_name=event, breakpoint_id=bp,
                                  target=routes, act_id=act.act_id))
                return
        self._route(job, routes, payload, hop)

    def _route(self, job: JobContext, routes: tuple[tuple[str, str, int], ...], payload: dict[str, Any],
               hop: Any) -> None:
        counts = self.connection_counts
        mon = self._mon
        for target, slot, index in routes:
            counts[index] = counts.get(index, 0) + 1
            if mon.armed:
                bp = mon.check("connection", job, target, slot, payload, index)
                if bp is not None:
                    self._park(Parked("connection", job, target, payload, hop, slot_name=slot,
                                      breakpoint_id=bp, target=(target, slot), connection_index=index))
                    continue
            self._deliver(job, target, slot, payload, hop)

    def _deliver(self, job: JobContext, rid: str, slot: str, payload: dict[str, Any], hop: Any,
                 *, front: bool = False, checked: bool = False) -> None:
        """Put one item into ``rid.slot`` for ``job``, waiting for room if the slot is full."""
        mon = self._mon
        if mon.armed and not checked:
            bp = mon.check("slot", job, rid, slot, payload)
            if bp is not None:
                self._park(Parked("slot", job, rid, payload, hop, slot_name=slot, breakpoint_id=bp,
                                  target=(rid, slot)))
                return
        with self._lock:
            q = self._queues.get((rid, slot)) or self._queue(rid, slot)
            if q.count >= q.max_length and not front:
                self._wait_for_room(q, job)
            if job.status in FINISHED:
                job.discarded += 1
                return
            items = q.by_job.get(job.job_id)
            if items is None:
                items = q.by_job[job.job_id] = deque()
            if front:
                items.appendleft((payload, hop))
            else:
                items.append((payload, hop))
            q.count += 1
            q.total_count += 1
            if job._keys.get(rid, IDLE) == IDLE:
                self._poke(job, rid)

    def _wait_for_room(self, q: SlotQueue, job: JobContext) -> None:
        """Backpressure (lock held): run ready work of the full slot's routine, else wait."""
        deadline = time.monotonic() + q.slot.put_timeout
        while q.count >= q.max_length and job.status not in FINISHED and self.status != "stopped":
            stolen = self._steal(q.routine_id)
            if stolen is not None:
                self._lock.release()
                try:
                    self._run_key(*stolen)
                finally:
                    self._lock.acquire()
                deadline = time.monotonic() + q.slot.put_timeout  # running the consumer is progress
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BackpressureTimeout(
                    f"slot {q.routine_id}.{q.name} stayed full ({q.count}/{q.max_length} items) for "
                    f"{q.slot.put_timeout} s; the consumer is too slow or stuck. Raise max_length or "
                    "put_timeout with define_slot(), or slow the producer"
                )
            self._room.wait(min(remaining, 0.05))

    def _steal(self, rid: str) -> tuple[JobContext, str] | None:
        depth = getattr(self._inline, "depth", 0)
        if depth >= _MAX_INLINE_DEPTH or current_activation() is None:
            return None
        for i, (job, krid) in enumerate(self._ready):
            if krid == rid:
                del self._ready[i]
                return job, krid
        return None

    # -- scheduling (lock held) ----------------------------------------------------------
    def _poke(self, job: JobContext, rid: str) -> None:
        """Items arrived or a timer fired for ``(job, rid)``: make it ready if its policy agrees."""
        if job._keys.get(rid, IDLE) != IDLE or job.status in FINISHED:
            return
        routine = self.flow.routines.get(rid)
        if routine is None:
            return
        policy = routine.activation_policy
        if not policy.is_immediate:
            counts = {s: self._queue(rid, s).job_count(job.job_id) for s in routine.slot_specs}
            mono = time.monotonic()
            if any(counts.values()):
                job._since.setdefault(rid, mono)
            decision = self._decide(job, routine, counts, mono)
            if decision is None or not decision.take:
                if decision is not None and decision.wake_at is not None:
                    self._wake_later(job, rid, decision.wake_at)
                return
        job._keys[rid] = READY
        job._active += 1
        self._ready.append((job, rid))
        if self._drainers - self._busy < len(self._ready) and self._drainers < self.max_concurrency:
            self._spawn_drainers()

    def _decide(self, job: JobContext, routine: Any, counts: dict[str, int], mono: float,
                flush: bool = False) -> Any:
        """Ask the routine's policy (lock held); a policy that raises fails the job."""
        policy = routine.activation_policy
        rid = routine.routine_id
        try:
            if flush:
                return policy.flush(counts)
            return policy.decide(counts, now=mono, last=job._last.get(rid), since=job._since.get(rid))
        except Exception as exc:
            tb = traceback.format_exc()
            self._finish_locked(job, "failed", error=f"activation policy of routine {rid!r} raised "
                                f"{type(exc).__name__}: {exc}", error_type=type(exc).__name__, tb=tb)
            return None

    def _spawn_drainers(self) -> None:
        """Start drainers until every ready key has an idle one (up to ``max_concurrency``)."""
        if self.status != "running":
            return
        while self._drainers - self._busy < len(self._ready) and self._drainers < self.max_concurrency:
            self._drainers += 1
            self.runtime._spawn(self._drain)

    def _wake_later(self, job: JobContext, rid: str, when: float) -> None:
        old = job._wake.get(rid)
        if old is not None and not old.cancelled and old.when <= when:
            return
        if old is not None:
            old.cancel()
            job._active -= 1
        job._active += 1
        job._wake[rid] = self.runtime.scheduler.call_at(when, self._timer_fired, job, rid)

    def _timer_fired(self, job: JobContext, rid: str) -> None:
        with self._lock:
            job._wake.pop(rid, None)
            self._poke(job, rid)
            self._release(job)

    def _release(self, job: JobContext) -> None:
        """One unit of a job's activity ended (lock held)."""
        job._active -= 1
        if job._active <= 0:
            self._settle(job)

    def _settle(self, job: JobContext) -> None:
        """The job is idle (lock held): flush what may be flushed, else complete it."""
        if job.status in FINISHED or job._user_paused or job.parked:
            return
        leftovers: dict[str, dict[str, int]] = {}
        for (rid, slot), q in self._queues.items():
            n = q.job_count(job.job_id)
            if n:
                leftovers.setdefault(rid, {})[slot] = n
        order = self.flow.order()
        for rid in sorted(leftovers, key=lambda r: order.get(r, len(order))):
            routine = self.flow.routines.get(rid)
            if routine is None:
                continue
            decision = self._decide(job, routine, leftovers[rid], time.monotonic(), flush=True)
            if job.status in FINISHED:
                return
            if decision is not None and decision.take:
                job._flush.add(rid)
                self._poke_flush(job, rid)
                return  # flush upstream first: what it emits may feed the next flush
        if leftovers:
            total = sum(sum(c.values()) for c in leftovers.values())
            job.log(None, "unconsumed", count=total, where={r: c for r, c in leftovers.items()},
                    message="items left in slots whose activation policy never fired; discarded at completion")
            self._discard_items(job)
            self._mon.discarded(job, total, "activation policy never fired")
        self._complete_locked(job, "completed")

    def _poke_flush(self, job: JobContext, rid: str) -> None:
        if job._keys.get(rid, IDLE) == IDLE:
            job._keys[rid] = READY
            job._active += 1
            self._ready.append((job, rid))
            self._spawn_drainers()

    # -- running -------------------------------------------------------------------------
    def _drain(self) -> None:
        """Run ready keys until none is left; one lock section between two activations."""
        lock = self._lock
        ready = self._ready
        lock.acquire()
        try:
            while True:
                if not ready or self.status != "running":
                    self._drainers -= 1
                    return
                job, rid = ready.popleft()
                prepared = self._prepare(job, rid)
                if prepared is None:
                    continue
                self._busy += 1
                routine, inputs, hops, hop = prepared
                lock.release()
                try:
                    self._run(job, routine, inputs, hops, hop)
                except Exception:  # never lose a drainer; the engine's own failure is logged
                    log.exception("worker %s: internal error while running %s of job %s",
                                  self.worker_id, rid, job.job_id)
                finally:
                    lock.acquire()
                    self._busy -= 1
                    self._key_done(job, routine)
        finally:
            lock.release()

    def _run_key(self, job: JobContext, rid: str) -> None:
        with self._lock:
            prepared = self._prepare(job, rid)
        if prepared is None:
            return
        routine, inputs, hops, hop = prepared
        try:
            self._run(job, routine, inputs, hops, hop)
        finally:
            with self._lock:
                self._key_done(job, routine)

    def _key_done(self, job: JobContext, routine: Any) -> None:
        """An activation of ``(job, routine)`` ended (lock held): reschedule or release."""
        rid = routine.routine_id
        job._keys[rid] = IDLE
        if self._has_items(job, routine):
            self._poke(job, rid)
        self._release(job)

    def _has_items(self, job: JobContext, routine: Any) -> bool:
        jid = job.job_id
        rid = routine.routine_id
        for s in routine.slot_specs:
            q = self._queues.get((rid, s))
            if q is not None and jid in q.by_job:
                return True
        return False

    def _prepare(self, job: JobContext, rid: str) -> tuple[Any, dict[str, list[Any]], list[Any], Any] | None:
        """Take the items of a ready key (lock held); ``None`` if there is nothing to run."""
        routine = self.flow.routines.get(rid)
        if job.status in FINISHED or routine is None:
            job._keys[rid] = IDLE
            self._release(job)
            return None
        if job._user_paused or job.parked:
            job._keys[rid] = IDLE
            job._deferred.add(rid)
            job._active -= 1
            return None
        counts = {s: self._queue(rid, s).job_count(job.job_id) for s in routine.slot_specs}
        policy = routine.activation_policy
        if policy.is_immediate and rid not in job._flush:
            take = {s: None for s, c in counts.items() if c}
        else:
            flush = rid in job._flush
            job._flush.discard(rid)
            decision = self._decide(job, routine, counts, time.monotonic(), flush)
            if decision is None:  # the policy raised: the job has failed
                job._keys[rid] = IDLE
                job._active -= 1
                return None
            take = decision.take
            if not take and decision.wake_at is not None:
                self._wake_later(job, rid, decision.wake_at)
        if not take:
            job._keys[rid] = IDLE
            self._release(job)
            return None
        inputs: dict[str, list[Any]] = {}
        hops: list[Any] = []
        was_full = False
        for slot, n in take.items():
            q = self._queues[(rid, slot)]
            was_full = was_full or q.count >= q.max_length
            items = q.take(job.job_id, n)
            inputs[slot] = [p for p, _ in items]
            hops.extend(h for _, h in items)
        if was_full:
            self._room.notify_all()
        job._keys[rid] = RUNNING
        job._last[rid] = time.monotonic()
        job._since.pop(rid, None)
        hop = next((h for h in hops if h is not None), None)
        return routine, inputs, hops, hop

    def _run(self, job: JobContext, routine: Any, inputs: dict[str, list[Any]], hops: list[Any], hop: Any,
             attempt: int = 0, *, skip_check: bool = False, act_id: int | None = None) -> None:
        """The one execution path of every activation."""
        act = ActivationContext(self, routine, job, inputs, hop, act_id or next(_act_ids), attempt)
        mon = self._mon
        if not skip_check and (mon.armed or job._step is not None):
            bp = self._activation_breakpoint(act, hops)
            if bp is not None:
                self._park(Parked(bp[0], job, routine.routine_id, inputs, hop, breakpoint_id=bp[1],
                                  slot_name=next(iter(inputs), None), attempt=attempt, act_id=act.act_id))
                return
        if job.status == "pending":
            self._set_status(job, "running", started=True)
        mon.activation_start(act)
        inline = self._inline
        inline.depth = getattr(inline, "depth", 0) + 1
        error: BaseException | None = None
        t0 = time.perf_counter()
        try:
            with act:
                offload = self.runtime._offload
                if offload is None:
                    result = routine._invoke(act, inputs)
                else:
                    result = call_offloaded(offload, act, routine, inputs)
                if result is not None:
                    self._emit_returned(act, result)
        except Exception as exc:  # routine errors go to the error strategy
            error = exc
        finally:
            inline.depth -= 1
        skipped = error is not None and self._handler_for(routine).strategy == "skip"
        mon.activation_end(act, time.perf_counter() - t0, None if skipped else error)
        if error is not None:
            self._handle_error(act, error)

    def _activation_breakpoint(self, act: ActivationContext, hops: list[Any]) -> tuple[str, str | None] | None:
        job = act.job
        step = job._step
        if step is not None:
            mode, source = step
            if mode == "over" or any(h is not None and h[1] == source for h in hops):
                job._step = None
                return ("step", None)
        if self._mon.armed:
            bp = self._mon.check("routine", job, act.routine.routine_id, None, act.inputs)
            if bp is not None:
                return ("routine", bp)
        return None

    def _emit_returned(self, act: ActivationContext, result: Any) -> None:
        events = act.routine.event_specs
        if len(events) != 1:
            raise TypeError(
                f"routine {act.routine.routine_id!r} returned a value but has events {list(events)}: "
                "returning emits on the only event; with several events use ctx.emit(event, ...)"
            )
        event = next(iter(events))
        items = [result] if isinstance(result, Mapping) else result
        if not isinstance(items, (list, tuple)):
            raise TypeError(
                f"routine {act.routine.routine_id!r} returned {type(result).__name__}: return a dict "
                "(emitted once), a list of dicts (each emitted) or None"
            )
        for item in items:
            if not isinstance(item, Mapping):
                raise TypeError(
                    f"routine {act.routine.routine_id!r} returned a list holding {type(item).__name__}: "
                    "every returned item must be a dict"
                )
            self._emit(act, event, dict(item))

    def _handler_for(self, routine: Any) -> ErrorHandler:
        return routine.error_handler or self.flow.error_handler or _DEFAULT_HANDLER

    def _handle_error(self, act: ActivationContext, error: BaseException) -> None:
        job, routine = act.job, act.routine
        handler = self._handler_for(routine)
        tb = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        strategy = handler.strategy
        if strategy == "retry" and act.attempt >= handler.max_retries:
            strategy = "stop"
        self._mon.routine_error(act, error, tb, strategy)
        rid = routine.routine_id
        if strategy == "retry":
            delay = handler.delay(act.attempt + 1)
            job.log(rid, "retry_scheduled", attempt=act.attempt + 1, delay=delay, error=repr(error))
            with self._lock:
                if job.status in FINISHED:
                    return
                job._active += 1
            self.runtime.scheduler.call_later(delay, self._retry_due, act)
        elif strategy == "continue":
            job.log(rid, "error_continued", error_type=type(error).__name__, error=str(error))
        elif strategy == "skip":
            job.log(rid, "skipped", error_type=type(error).__name__, error=str(error))
        else:
            job._failed_step = (rid, act.inputs)
            message = f"routine {rid!r} failed: {type(error).__name__}: {error}"
            if act.attempt:
                message += f" (after {act.attempt} retries)"
            self._finish_job(job, "failed", error=message, error_type=type(error).__name__, tb=tb)

    def _retry_due(self, act: ActivationContext) -> None:
        with self._lock:
            if act.job._user_paused or act.job.parked or self.status == "paused":
                act.job._held_retries.append(act)  # released by resume
                return
        self._spawn_retry(act)

    def _spawn_retry(self, act: ActivationContext) -> None:
        def run() -> None:
            try:
                if act.job.status not in FINISHED:
                    self._run(act.job, act.routine, act.inputs, [act.hop], act.hop, act.attempt + 1,
                              skip_check=True)
            finally:
                with self._lock:
                    self._release(act.job)

        self.runtime._spawn(run)

    # -- breakpoints ---------------------------------------------------------------------
    def _park(self, parked: Parked) -> None:
        job = parked.job
        with self._lock:
            if job.status in FINISHED:
                return
            job._active += 1
            if job.status != "paused":
                self._set_status(job, "paused")
            job.parked.append(parked)
        self._mon.parked(parked)

    def _unpark(self, job: JobContext, action: str, step: tuple[str, int | None] | None = None) -> list[Parked]:
        """Release every parked item of ``job`` (``resume``, ``step_over``, ``step_into``)."""
        with self._lock:
            parked, job.parked = job.parked, []
            job._step = step
            if job.status == "paused" and not job._user_paused:
                self._set_status(job, "running")
            deferred, job._deferred = job._deferred, set()
            for rid in deferred:
                if self._has_items(job, self.flow.routines[rid]) if rid in self.flow.routines else False:
                    self._poke(job, rid)
        for p in parked:
            self._mon.unparked(p, action)
            self.runtime._spawn(self._release_parked, p)
        self._release_retries(job)
        if not parked:
            with self._lock:
                if job._active <= 0:
                    self._settle(job)
        return parked

    def _release_retries(self, job: JobContext) -> None:
        with self._lock:
            if job._user_paused or job.parked or self.status == "paused":
                return
            held, job._held_retries = job._held_retries, []
        for act in held:
            self._spawn_retry(act)

    def _release_parked(self, p: Parked) -> None:
        job = p.job
        try:
            if job.status in FINISHED:
                return
            if p.target is None:
                routine = self.flow.routines.get(p.routine_id)
                if routine is not None:
                    self._run(job, routine, p.payload, [p.hop], p.hop, p.attempt, skip_check=True,
                              act_id=p.act_id)
                    with self._lock:
                        if self._has_items(job, routine):
                            self._poke(job, p.routine_id)
            elif p.kind == "event":
                self._route(job, p.target, p.payload, p.hop)
            else:
                rid, slot = p.target
                self._deliver(job, rid, slot, p.payload, p.hop, front=True, checked=True)
        finally:
            with self._lock:
                self._release(job)

    def _drop_parked(self, job: JobContext, parked: Parked) -> None:
        with self._lock:
            if parked not in job.parked:
                raise JobStateError(f"{parked!r} is no longer parked in job {job.job_id!r}")
            job.parked.remove(parked)
            job.discarded += 1
        self._mon.unparked(parked, "drop")
        job.log(parked.routine_id, "dropped", kind=parked.kind, slot=parked.slot_name, event=parked.event_name)
        with self._lock:
            self._release(job)

    # -- job lifecycle -------------------------------------------------------------------
    def _set_status(self, job: JobContext, status: str, *, started: bool = False) -> None:
        old = job.status
        job.status = status
        if started and job.started_at is None:
            job.started_at = now()
        self._mon.job_status(job, old)

    def _pause_job(self, job: JobContext) -> None:
        with self._lock:
            if job.status in FINISHED:
                raise JobStateError(f"job {job.job_id!r} is {job.status}; only unfinished jobs can be paused")
            job._user_paused = True
            if job.status != "paused":
                self._set_status(job, "paused")

    def _resume_job(self, job: JobContext) -> None:
        if job.status != "paused":
            raise JobStateError(f"job {job.job_id!r} is {job.status}, not paused; nothing to resume")
        with self._lock:
            job._user_paused = False
        self._unpark(job, "resume")

    def _job_timed_out(self, job: JobContext) -> None:
        if not job.is_finished:
            err = JobTimeoutError(f"job {job.job_id!r} exceeded its timeout of {job.timeout} s")
            self._finish_job(job, "failed", error=str(err), error_type="JobTimeoutError")

    def _finish_job(self, job: JobContext, status: str, *, error: str | None = None,
                    error_type: str | None = None, tb: str | None = None, reason: str | None = None) -> None:
        with self._lock:
            self._finish_locked(job, status, error=error, error_type=error_type, tb=tb, reason=reason)

    def _finish_locked(self, job: JobContext, status: str, *, error: str | None = None,
                       error_type: str | None = None, tb: str | None = None, reason: str | None = None) -> None:
        """End a job now (lock held): queued, parked and held work is discarded and counted."""
        if job.status in FINISHED:
            return
        if error is not None:
            job.error, job.error_type, job.error_traceback = error, error_type, tb
        if status == "cancelled":
            job.cancelled_at = now()
            job.cancel_reason = reason
        held = len(job.parked) + len(job._held_retries)
        job.discarded += held
        dropped = self._discard_items(job) + held
        job.parked = []
        job._held_retries = []
        for handle in job._wake.values():
            handle.cancel()
        job._wake.clear()
        self._complete_locked(job, status)
        if dropped:
            job.log(None, "discarded", count=dropped, reason=status)
            self._mon.discarded(job, dropped, status)

    def _discard_items(self, job: JobContext) -> int:
        dropped = 0
        jid = job.job_id
        for q in self._queues.values():
            items = q.by_job.pop(jid, None)
            if items:
                dropped += len(items)
                q.count -= len(items)
        if dropped:
            job.discarded += dropped
            self._room.notify_all()
        if self._ready:
            kept = [k for k in self._ready if k[0] is not job]
            if len(kept) != len(self._ready):
                self._ready.clear()
                self._ready.extend(kept)
                for rid, state in list(job._keys.items()):
                    if state == READY:
                        job._keys[rid] = IDLE
        return dropped

    def _complete_locked(self, job: JobContext, status: str) -> None:
        job.completed_at = now()
        if job._timeout_handle is not None:
            job._timeout_handle.cancel()
        self.jobs_processed += 1
        if status == "failed":
            self.jobs_failed += 1
        self._jobs.pop(job.job_id, None)
        self._set_status(job, status)
        if job._done is not None:
            job._done.set()
        for callback in job._callbacks:
            try:
                callback(job)
            except Exception:
                log.exception("done callback %r of job %s failed", callback, job.job_id)
        job._callbacks.clear()
        self.runtime._job_finished(job)

    def _repr_html_(self) -> str:
        from routilux_nb.notebook.reprs import html_for

        return html_for(self)
