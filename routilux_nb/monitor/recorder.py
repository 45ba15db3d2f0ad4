"""The recorder: the monitor's hooks, called by the engine on its hot paths.

Cost per activation: a small state list at its start, one ``(ts, event, payload)`` tuple per
emit, and at its end one ring append (an *activation entry* standing for all its trace events,
expanded only when read) under an uncontended lock. No counter is updated on the way: a job's
counters are counted from its entries when read, and added to its worker's once, when it
finishes (see :mod:`.counting` and :mod:`.state`). Nothing hops threads; every buffer is
bounded; counters are exact whatever the ring sizes.

CPU time is ``time.thread_time()`` from the activation's start to its end on its thread,
minus that of activations run inline meanwhile (a producer blocked on a full slot running the
consumer); with a process-pool executor it is the dispatching thread's time. Queue wait is the
time from when the activation's oldest input was emitted (or submitted) to its start: known
exactly for the first input that reached an idle routine, and otherwise counted from the
previous activation of the same routine in the job (when the input cannot have arrived earlier).
Blocked time is what the activation waited for room in full slots (``act.blocked``, measured
by the engine only when a slot is full); it is left out of the duration the engine reports and
counted apart, so a producer held up by backpressure is never charged for it.
"""

from __future__ import annotations

import sys
import threading
from time import thread_time
from typing import TYPE_CHECKING, Any

from routilux_nb.core.clock import now
from routilux_nb.core.job import FINISHED

from .counting import count_dropped_emits
from .entries import compact_emits
from .metrics import ErrorRecord, FlowStats
from .output import _Router, install_output_router
from .publishing import Publisher
from .state import Changed, JobMonitor, WorkerMonitor
from .trace import ACTIVATION, next_seq, take_seqs

if TYPE_CHECKING:
    from routilux_nb.core.context import ActivationContext
    from routilux_nb.core.job import JobContext, Parked

    from .bus import EventBus

__all__ = ["Recorder"]

# positions in the per-activation state list (``act.recorded``)
_T0, _CPU0, _WAIT, _EMITS, _OUTER, _CHILD_CPU, _EAGER, _LAST_EVENT = range(8)


class _ThreadState(threading.local):
    """Per thread: the state list of the activation being recorded (to find nested ones)."""

    def __init__(self) -> None:
        self.current: list[Any] | None = None


_thread = _ThreadState()


class Recorder(Publisher):
    """The hook methods of :class:`~routilux_nb.core.hooks.MonitorHooks` (mixed into ``Monitor``)."""

    trace_size: int
    history_size: int
    output_limit: int
    capture_output: bool
    cpu_time: bool
    bus: EventBus
    workers: dict[str, WorkerMonitor]
    flow_stats: dict[str, FlowStats]
    changed: Changed
    job_observers: list[Any]
    _stdout: Any
    _noted_max: int
    _keep: int
    jobs_finished: int
    #: held while a finished job's counters are added to its worker's (and while read with them)
    _fold_lock: threading.Lock

    # -- jobs ----------------------------------------------------------------------------
    def job_created(self, job: JobContext) -> None:
        jm = job.monitor = JobMonitor(job, self.trace_size, self.output_limit, self._fold_lock)
        wm = self.workers.get(job.worker_id) or self._wm(job.worker_id)
        wm.recent_jobs.append(job)
        rid, meta = job.entry[0] if job.entry else None, job.metadata or None
        if self.bus.active:
            self._write(job, job.created_at, "job_start", rid, None, meta, None, job.status)
        else:  # the quiet path of _write, inline (once per job); nobody else has the job yet
            # fmt: off
            jm.trace.add((next_seq(), job.created_at, "job_start", rid, job.job_id, None, meta,
                          None, job.status), 1)
            # fmt: on
        for observer in self.job_observers:
            observer.job_created(job)

    def job_status(self, job: JobContext, old: str) -> None:
        for observer in self.job_observers:
            observer.job_status(job, old)
        status = job.status
        if status in FINISHED:
            duration = job.duration
            self._write(job, now(), "job_end", None, old, job.error, duration, status)
            self._fold(job, status, duration)
            self.changed.notify_changed()
            return
        self._write(job, now(), "job_status", None, old, job.error, None, status)
        if status == "paused":
            self.changed.notify_changed()

    # -- activations ---------------------------------------------------------------------
    def activation_start(self, act: ActivationContext) -> None:
        if self.capture_output and sys.stdout is not self._stdout:
            install_output_router()
            self._stdout = sys.stdout if isinstance(sys.stdout, _Router) else None
        job = act.job
        jm = job.monitor
        rid = act.routine.routine_id
        t0 = now()
        pending = jm.pending
        since = pending.pop(rid, None) if pending else None
        if since is None:
            last = jm.last.get(rid)
            if last is not None:  # inputs that came while it ran waited from its start
                since = last[1] if act.attempt else last[0]
            else:  # the first activation of an entry routine
                since = job.created_at
        jm.running[rid] = t0
        eager = self.bus.active
        local = _thread
        act.recorded = local.current = [
            t0,
            thread_time() if self.cpu_time else 0.0,
            max(0.0, t0 - since),
            None,
            local.current,
            0.0,
            eager,
            None,
        ]
        if eager:  # someone listens: every event is published as it happens
            self._write_start(act, t0)

    def emit(self, act: ActivationContext, event: str, payload: dict[str, Any]) -> None:
        """Note the emit on the activation (time taken now); written out at its end."""
        st = act.recorded
        if st is None:
            return
        ts = now()
        if st[_LAST_EVENT] is not event:  # inputs it feeds start waiting now (if not already)
            st[_LAST_EVENT] = event
            jm = act.job.monitor
            pending = jm.pending
            if pending is None:
                pending = jm.pending = {}
            for target, _slot, _index in act.worker.flow.routes(act.routine.routine_id, event):
                pending.setdefault(target, ts)
        if self.bus.active:  # someone listens: published now
            self._emit_now(act, ts, event, payload)
            return
        emits = st[_EMITS]
        if emits is None:  # held flat: ts, event, payload, ts, ... (no tuple per emit)
            emits = st[_EMITS] = []
        emits += (ts, event, payload)
        if len(emits) >= self._noted_max:  # counted now, where no entry will count them
            cut = 3 * (len(emits) // 3 - self._keep)  # the oldest: no ring would keep them
            dropped = emits[1:cut:3]
            del emits[:cut]
            with self._fold_lock:
                act.job.monitor.drop_emits(act.routine.routine_id, dropped)
                if act.job.monitor.folded:  # the job ended meanwhile: its worker's too
                    wm = self._wm(act.job.worker_id)
                    count_dropped_emits(wm.routine(act.routine.routine_id), dropped)

    def activation_end(
        self, act: ActivationContext, duration: float, error: BaseException | None
    ) -> None:
        st = act.recorded
        if st is None:
            return
        act.recorded = None
        cpu = thread_time() - st[_CPU0] if self.cpu_time else 0.0
        outer = st[_OUTER]
        if outer is not None:  # ran inline inside another activation: not that one's CPU
            outer[_CHILD_CPU] += cpu
        local = _thread
        if local.current is st:
            local.current = outer
        cpu -= st[_CHILD_CPU]
        job = act.job
        jm = job.monitor
        rid = act.routine.routine_id
        ts = now()
        t0 = st[_T0]
        jm.last[rid] = (t0, ts)
        jm.running.pop(rid, None)
        failed = None if error is None else repr(error)
        blocked = act.blocked  # waiting for room in full slots (not in duration)
        if blocked:
            self._blocked(jm, rid, blocked)
        if st[_EAGER] or self.bus.active:  # someone listens: whatever is not published yet is now
            emits = st[_EMITS]
            # fmt: off
            self._end_now(act, t0, not st[_EAGER], emits, ts, duration, failed, cpu, st[_WAIT])
            # fmt: on
            return
        inputs = act.inputs
        emits = st[_EMITS]
        n_out = len(emits) // 3 if emits else 0
        n = len(inputs) + 2 + n_out
        # one entry for the whole activation, its emits held flat (see .entries)
        # fmt: off
        entry = (take_seqs(n), t0, ACTIVATION, rid, job.job_id, inputs,
                 compact_emits(emits), duration, failed, ts, cpu, st[_WAIT], act.attempt, n)
        # fmt: on
        with self._fold_lock:  # _append, inline (once per activation)
            jm.trace.add(entry, n)
            if n_out:
                self.workers[job.worker_id].history.add(entry, n_out)
            if jm.folded:  # the job already finished (e.g. cancelled while this ran)
                self._count_late(jm, entry)

    def _blocked(self, jm: JobMonitor, rid: str, seconds: float) -> None:
        with self._fold_lock:
            blocked = jm.blocked
            if blocked is None:
                blocked = jm.blocked = {}
            blocked[rid] = blocked.get(rid, 0.0) + seconds
            if jm.folded:
                self._wm(jm.job.worker_id).routine(rid).total_blocked_time += seconds

    def _fold(self, job: JobContext, status: str, duration: float | None) -> None:
        """Add a finished job's counters to its worker's and its flow's (once)."""
        jm = job.monitor
        wm = self._wm(job.worker_id)
        with self._fold_lock:
            if not jm.folded:
                jm.fold_into(wm.routines)
                jm.pack(whole=status == "completed")  # kept jobs: cheap for the collector
            stats = self.flow_stats.get(job.flow_id)
            if stats is None:
                stats = self.flow_stats[job.flow_id] = FlowStats(job.flow_id)
            stats.record(job.job_id, status, duration)
            self.jobs_finished += 1

    def routine_error(
        self, act: ActivationContext, error: BaseException, tb: str, strategy: str
    ) -> None:
        job = act.job
        rid = act.routine.routine_id
        ts = now()
        name = type(error).__name__
        if strategy == "skip":  # a skipped activation is recorded, not counted as an error
            self._write(job, ts, "routine_skipped", rid, name, str(error), None, strategy)
            return
        etype = "routine_retry" if strategy == "retry" else "routine_error"
        seq = self._write(job, ts, etype, rid, name, str(error), None, strategy)
        job.monitor.errors.append(
            ErrorRecord(f"err-{seq}", job.job_id, rid, ts, name, str(error), tb, strategy)
        )
        self._wm(job.worker_id).last_error[rid] = f"{name}: {error}"

    # -- breakpoints, discards, workers --------------------------------------------------
    def parked(self, parked: Parked) -> None:
        p = parked
        self._write(
            p.job, now(), "breakpoint_hit", p.routine_id, p.kind, p.payload, None, p.breakpoint_id
        )
        self.changed.notify_changed()

    def unparked(self, parked: Parked, action: str) -> None:
        jm = parked.job.monitor
        if jm.matched:
            jm.matched.pop(id(parked.payload), None)
        p, dropped = parked, parked.payload if action == "drop" else None
        self._write(p.job, now(), "breakpoint_release", p.routine_id, p.kind, dropped, None, action)

    def discarded(self, job: JobContext, count: int, reason: str) -> None:
        self._write(job, now(), "items_discarded", None, reason, count, None, None)

    def note(
        self,
        job: JobContext,
        event_type: str,
        routine_id: str | None,
        detail: Any = None,
        payload: Any = None,
    ) -> None:
        if job.monitor is not None:
            self._write(job, now(), event_type, routine_id, detail, payload, None, None)
            self.changed.notify_changed()
