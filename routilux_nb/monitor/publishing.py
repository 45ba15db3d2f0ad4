"""Writing events one at a time, published on the bus as they happen.

The recorder's cheap path notes an activation and appends one entry when it ends. While
anyone listens on the bus (a WebSocket, a subscription), events are written and published
one by one instead, so subscribers see them live; job-level events always go this way.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from routilux_nb.core.clock import now

from .counting import ROUTINE_EVENTS, count_entry
from .entries import emitted
from .state import JobMonitor, WorkerMonitor
from .trace import ACTIVATION, Ring, bus_message, next_seq

if TYPE_CHECKING:
    from routilux_nb.core.context import ActivationContext
    from routilux_nb.core.job import JobContext
    from routilux_nb.core.worker import Worker

    from .bus import EventBus

__all__ = ["Publisher"]


class Publisher:
    """Event-at-a-time writing (mixed into the recorder)."""

    bus: EventBus
    workers: dict[str, WorkerMonitor]
    history_size: int
    #: held while a seq is taken and its message published, so subscribers see seqs in order
    _publish_lock: threading.Lock
    #: the counting lock (see :mod:`.state`)
    _fold_lock: threading.Lock

    def _wm(self, worker_id: str) -> WorkerMonitor:
        wm = self.workers.get(worker_id)
        if wm is None:
            wm = self.workers.setdefault(worker_id, WorkerMonitor(self.history_size))
        return wm

    def _write(
        self,
        job: JobContext,
        ts: float,
        etype: str,
        rid: str | None,
        detail: Any,
        payload: Any,
        duration: float | None,
        status: str | None,
        *extra: Any,
        history: Ring | None = None,
    ) -> int:
        """Record one event of a job (its seq taken now); published while anyone listens."""
        jm = job.monitor
        if not self.bus.active:
            seq = next_seq()
            rec = (seq, ts, etype, rid, job.job_id, detail, payload, duration, status, *extra)
            self._append(jm, rec, 1, history, 1)
            return seq
        with self._publish_lock:
            seq = next_seq()
            rec = (seq, ts, etype, rid, job.job_id, detail, payload, duration, status, *extra)
            self._append(jm, rec, 1, history, 1)
            self.bus.publish(bus_message(rec, job.worker_id, job.flow_id))
        return seq

    def _append(
        self,
        jm: JobMonitor,
        entry: tuple[Any, ...],
        n: int,
        history: Ring | None = None,
        n_out: int = 0,
    ) -> None:
        """Add an entry standing for ``n`` events to the job's trace (and ``n_out`` emits to
        the worker's history); counted into the worker's counters here when the job's were
        already added to them (an activation that ended after its job)."""
        with self._fold_lock:
            jm.trace.add(entry, n)
            if history is not None:
                history.add(entry, n_out)
            if jm.folded:
                self._count_late(jm, entry)

    def _count_late(self, jm: JobMonitor, entry: tuple[Any, ...]) -> None:
        """The job finished and its counters were added to its worker's before this entry
        was written: add it too (counting lock held)."""
        if entry[2] == ACTIVATION or entry[2] in ROUTINE_EVENTS:
            count_entry(self._wm(jm.job.worker_id).routines, entry)

    def _write_start(self, act: ActivationContext, t0: float) -> None:
        job, rid = act.job, act.routine.routine_id
        for slot, items in act.inputs.items():
            self._write(job, t0, "slot_call", rid, slot, items, None, None)
        attempt = f"attempt {act.attempt}" if act.attempt else None
        self._write(job, t0, "routine_start", rid, None, None, None, attempt)

    def _emit_now(
        self, act: ActivationContext, ts: float, event: str, payload: dict[str, Any]
    ) -> None:
        job = act.job
        history = self.workers[job.worker_id].history
        rid = act.routine.routine_id
        self._write(job, ts, "event_emit", rid, event, payload, None, None, history=history)

    def _end_now(
        self,
        act: ActivationContext,
        t0: float,
        started_quietly: bool,
        emits: list[Any] | None,
        ts: float,
        duration: float,
        failed: str | None,
        cpu: float,
        wait: float | None,
    ) -> None:
        """Write what an activation has not published yet, then its ``routine_end``."""
        job = act.job
        rid = act.routine.routine_id
        if started_quietly:  # the bus got a listener while it ran
            self._write_start(act, t0)
        history = self.workers[job.worker_id].history
        for ets, event, payload in emitted(emits):
            self._write(job, ets, "event_emit", rid, event, payload, None, None, history=history)
        status = "ok" if failed is None else "error"
        self._write(job, ts, "routine_end", rid, None, failed, duration, status, cpu, wait)

    def worker_status(self, worker: Worker, old: str) -> None:
        self._wm(worker.worker_id).status_changed_at = now()
        if self.bus.active:
            with self._publish_lock:
                rec = (
                    next_seq(),
                    now(),
                    "worker_status",
                    None,
                    None,
                    old,
                    None,
                    None,
                    worker.status,
                )
                self.bus.publish(bus_message(rec, worker.worker_id, worker.flow_id))
