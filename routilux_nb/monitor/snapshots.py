"""Snapshots for user interfaces: the builder, and coalescing streams of them.

:class:`SnapshotBuilder` makes the :class:`~routilux_nb.monitor.types.Snapshot` a live view
shows.
A stream calls ``callback(snapshot)`` at most ``max_rate_hz`` times a second, only when the
snapshot changed, from one ticker thread shared by all streams of a monitor: a widget or a
WebSocket never has to consume every event of a busy job, and the latest state always wins.
The ticker runs only while streams exist.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from routilux_nb.core.clock import iso

from .types import BreakpointView, JobView, QueueView, RoutineView, Snapshot

if TYPE_CHECKING:
    from routilux_nb.core.job import JobContext
    from routilux_nb.core.worker import Worker

    from .breakpoints import BreakpointManager
    from .metrics import RoutineMetrics
    from .state import WorkerMonitor

__all__ = ["SnapshotBuilder", "SnapshotStream", "Ticker"]

log = logging.getLogger(__name__)


class SnapshotStream:
    def __init__(
        self,
        ticker: Ticker,
        produce: Callable[[], Snapshot],
        callback: Callable[[Snapshot], None],
        max_rate_hz: float,
    ) -> None:
        self._ticker = ticker
        self.produce = produce
        self.callback = callback
        self.interval = 1.0 / max(0.1, max_rate_hz)
        self.next_due = 0.0
        self.last: Snapshot | None = None
        self.sent = 0
        self.closed = False

    def tick(self, mono: float) -> None:
        if mono < self.next_due:
            return
        self.next_due = mono + self.interval
        snap = self.produce()
        if snap == self.last:
            return
        self.last = snap
        self.sent += 1
        self.callback(snap)
        # the interval counts from the end of this delivery, so a slow snapshot or callback
        # never lets the next one follow closer than the interval
        self.next_due = time.monotonic() + self.interval

    def force(self) -> None:
        """Send the current snapshot now (e.g. right after a user action)."""
        self.next_due = 0.0
        self._ticker.wake()

    def close(self) -> None:
        self.closed = True
        self._ticker.remove(self)

    def __repr__(self) -> str:
        return (
            f"SnapshotStream(rate_hz={1 / self.interval:g}, sent={self.sent}, closed={self.closed})"
        )


class Ticker:
    def __init__(self, resolution: float = 0.02) -> None:
        self._streams: list[SnapshotStream] = []
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._resolution = resolution
        self._stopped = False

    def add(self, stream: SnapshotStream) -> SnapshotStream:
        with self._cond:
            self._streams.append(stream)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="routilux-snapshots", daemon=True
                )
                self._thread.start()
            self._cond.notify()
        return stream

    def remove(self, stream: SnapshotStream) -> None:
        with self._cond:
            if stream in self._streams:
                self._streams.remove(stream)
            self._cond.notify()

    def wake(self) -> None:
        with self._cond:
            self._cond.notify()

    @property
    def stream_count(self) -> int:
        return len(self._streams)

    def _loop(self) -> None:
        while True:
            with self._cond:
                if self._stopped or not self._streams:
                    self._thread = None
                    return
                streams = list(self._streams)
            mono = time.monotonic()
            for s in streams:
                try:
                    s.tick(mono)
                except Exception:  # one broken view must not stop the others
                    log.exception("snapshot stream failed; closing it")
                    s.close()
            with self._cond:
                if self._streams and not self._stopped:
                    due = min(s.next_due for s in self._streams)
                    self._cond.wait(max(self._resolution, due - time.monotonic()))

    def shutdown(self) -> None:
        with self._cond:
            self._stopped = True
            self._streams.clear()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(2)


def _queue_view(q: dict[str, Any]) -> QueueView:
    return {
        "unconsumed_count": q["unconsumed_count"],
        "max_length": q["max_length"],
        "usage_percentage": q["usage_percentage"],
        "pressure_level": q["pressure_level"],
    }


def _breakpoint_view(d: dict[str, Any]) -> BreakpointView:
    return {
        "breakpoint_id": d["breakpoint_id"],
        "type": d["type"],
        "routine_id": d["routine_id"],
        "slot_name": d["slot_name"],
        "event_name": d["event_name"],
        "enabled": d["enabled"],
        "hit_count": d["hit_count"],
        "job_id": d["job_id"],
    }


class SnapshotBuilder:
    """Builds snapshots and streams them (mixed into ``Monitor``)."""

    ticker: Ticker
    breakpoints: BreakpointManager

    def _wm(self, worker_id: str) -> WorkerMonitor:
        raise NotImplementedError

    def routine_states(self, worker: Worker) -> dict[str, dict[str, Any]]:
        raise NotImplementedError

    def worker_routines(self, worker: Worker) -> dict[str, RoutineMetrics]:
        raise NotImplementedError

    def snapshot(self, worker: Worker, *, job: JobContext | None = None) -> Snapshot:
        """The state a live view shows (flow graph colours, gauges, jobs, breakpoints)."""
        wm = self._wm(worker.worker_id)
        states = self.routine_states(worker)
        totals = self.worker_routines(worker)
        parked = [p for j in ([job] if job else worker.active_jobs) for p in list(j.parked)]
        parked_at = {p.routine_id for p in parked}
        routines: dict[str, RoutineView] = {}
        for rid, st in states.items():
            m = totals.get(rid)
            routines[rid] = {
                "status": "paused" if rid in parked_at else st["status"],
                "execution_count": st["execution_count"],
                "error_count": st["error_count"],
                "avg_duration": round(m.avg_duration, 6) if m else 0.0,
                "active": st["active"],
            }
        queues: dict[str, dict[str, QueueView]] = {
            rid: {q["slot_name"]: _queue_view(q) for q in qs}
            for rid, qs in worker.queue_status(job.job_id if job else None).items()
        }
        jobs: dict[str, JobView] = {}
        for j in [job] if job else list(wm.recent_jobs):
            rm = j.monitor.routines if j.monitor else {}
            jobs[j.job_id] = {
                "job_id": j.job_id,
                "status": j.status,
                "created_at": iso(j.created_at),
                "elapsed": round(j.duration or 0.0, 3),
                "routine_counts": {r: m.execution_count for r, m in list(rm.items())},
                "error": j.error,
            }
        if job is not None:
            bps = [b for b in self.breakpoints.list() if b.applies_to(job)]
        else:
            bps = self.breakpoints.list(worker_id=worker.worker_id, flow_id=worker.flow_id)
        views = [_breakpoint_view(b.to_dict()) for b in bps]
        return {
            "worker": {
                "worker_id": worker.worker_id,
                "flow_id": worker.flow_id,
                "status": worker.status,
                "jobs_processed": worker.jobs_processed,
                "jobs_failed": worker.jobs_failed,
                "active_jobs": len(worker.active_jobs),
            },
            "routines": routines,
            "queues": queues,
            "connections": {
                f"conn_{i}": {"count": c} for i, c in sorted(worker.connection_counts.items())
            },
            "jobs": jobs,
            "breakpoints": views,
            "paused": [
                {
                    "job_id": p.job.job_id,
                    "routine_id": p.routine_id,
                    "kind": p.kind,
                    "slot_name": p.slot_name,
                    "event_name": p.event_name,
                }
                for p in parked
            ],
        }

    def stream(
        self,
        callback: Callable[[Snapshot], None],
        *,
        worker: Worker,
        job: JobContext | None = None,
        max_rate_hz: float = 10.0,
    ) -> SnapshotStream:
        """Call ``callback(snapshot)`` at most ``max_rate_hz`` times a second while it changes."""
        stream = SnapshotStream(
            self.ticker, lambda: self.snapshot(worker, job=job), callback, max_rate_hz
        )
        return self.ticker.add(stream)
