"""Writing events one at a time, published on the bus as they happen.

The recorder's cheap path notes an activation and appends one entry when it ends. While
anyone listens on the bus (a WebSocket, a subscription), events are written and published
one by one instead, so subscribers see them live; job-level events always go this way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from routilux_nb.core.clock import now

from .state import WorkerMonitor, count_emits
from .trace import SEQ, WRITE_LOCK, Ring, bus_message

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
        trace = job.monitor.trace
        with WRITE_LOCK:
            seq = SEQ[0] = SEQ[0] + 1
            rec = (seq, ts, etype, rid, job.job_id, detail, payload, duration, status, *extra)
            trace._entries.append(rec)
            trace.total += 1
            kept = trace.kept = trace.kept + 1
            if kept > trace.size:
                trace.add(None, 0)  # trims
            if history is not None:
                history.add(rec, 1)
            if self.bus.active:
                self.bus.publish(bus_message(rec, job.worker_id, job.flow_id))
        return seq

    def _write_start(
        self, job: JobContext, rid: str, t0: float, inputs: dict[str, list[Any]], attempt: int
    ) -> None:
        for slot, items in inputs.items():
            self._write(job, t0, "slot_call", rid, slot, items, None, None)
        self._write(
            job,
            t0,
            "routine_start",
            rid,
            None,
            None,
            None,
            f"attempt {attempt}" if attempt else None,
        )

    def _emit_now(
        self, act: ActivationContext, ts: float, event: str, payload: dict[str, Any]
    ) -> None:
        job = act.job
        rid = act.routine.routine_id
        m = job.monitor.routines[rid]
        count_emits(m, [(ts, event, payload)])
        m.items_out += 1
        wm = self.workers[job.worker_id]
        self._write(job, ts, "event_emit", rid, event, payload, None, None, history=wm.history)
        wr = wm.routine(rid)
        with WRITE_LOCK:
            count_emits(wr, [(ts, event, payload)])
            wr.items_out += 1

    def _end_now(
        self,
        act: ActivationContext,
        t0: float,
        started_quietly: bool,
        emits: list[tuple[float, str, Any]] | None,
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
            self._write_start(job, rid, t0, act.inputs, act.attempt)
        history = self.workers[job.worker_id].history
        for ets, event, payload in emits or ():
            self._write(job, ets, "event_emit", rid, event, payload, None, None, history=history)
        status = "ok" if failed is None else "error"
        self._write(job, ts, "routine_end", rid, None, failed, duration, status, cpu, wait)

    def worker_status(self, worker: Worker, old: str) -> None:
        self._wm(worker.worker_id).status_changed_at = now()
        if self.bus.active:
            with WRITE_LOCK:
                seq = SEQ[0] = SEQ[0] + 1
                self.bus.publish(
                    bus_message(
                        (seq, now(), "worker_status", None, None, old, None, None, worker.status),
                        worker.worker_id,
                        worker.flow_id,
                    )
                )
