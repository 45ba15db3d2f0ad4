"""The link between one live view and the runtime: a coalescing snapshot stream.

A :class:`LiveBinding` feeds views from the monitor's snapshot stream of a worker (or one
job): at most ``max_rate_hz`` updates a second and only when something changed. Trace rows
are pulled by sequence number and the debugger state is read inside the same throttled
callback, never per event. :meth:`LiveBinding.flush` delivers the current state at once
(a job's end, the runtime's shutdown), whatever the rate.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from routilux_nb.core.job import JobContext
    from routilux_nb.core.worker import Worker
    from routilux_nb.monitor.types import Snapshot

__all__ = ["LiveBinding"]

_log = logging.getLogger(__name__)
_EXTRA = "__live__"  # private key added to each produced snapshot (change detection only)


class LiveBinding:
    """Feeds views from one snapshot stream of a worker (optionally one job).

    ``on_snapshot``, ``on_trace`` and ``on_debug`` receive, on the stream's thread, the
    snapshot, the new trace rows (oldest first) and the debugger state.
    """

    def __init__(
        self,
        worker: Worker,
        job: JobContext | None = None,
        *,
        on_snapshot: Callable[[Snapshot], Any] | None = None,
        on_trace: Callable[[list[dict[str, Any]]], Any] | None = None,
        on_debug: Callable[[dict[str, Any]], Any] | None = None,
        max_trace_rows: int = 200,
        max_rate_hz: float = 10.0,
    ) -> None:
        self.worker = worker
        self.job = job
        self.runtime = worker.runtime
        self.monitor = worker.runtime.monitor
        self._on_snapshot = on_snapshot
        self._on_trace = on_trace
        self._on_debug = on_debug
        self._max_trace_rows = max_trace_rows
        self._lock = threading.RLock()
        self._cursor: dict[str, int] = {}  # job id -> last trace seq delivered
        self._totals: dict[str, int] = {}  # job id -> trace total at the last pull
        self._debug_job: JobContext | None = job
        self._routine_ids: frozenset[str] | None = None
        self.updates = 0
        self.closed = False
        self.stream = self.monitor.stream(
            self._deliver, worker=worker, job=job, max_rate_hz=max_rate_hz
        )
        base = self.stream.produce
        # Make trace growth and debugger changes count as "changed" for the stream.
        self.stream.produce = lambda: self._produce(base)

    def __repr__(self) -> str:
        scope = (
            f"job_id={self.job.job_id!r}" if self.job else f"worker_id={self.worker.worker_id!r}"
        )
        return f"LiveBinding({scope}, updates={self.updates}, closed={self.closed})"

    # -- stream side ------------------------------------------------------------------
    def _jobs_in(self, snapshot: Mapping[str, Any]) -> list[JobContext]:
        if self.job is not None:
            return [self.job]
        jobs = []
        for jid in snapshot.get("jobs") or {}:
            try:
                jobs.append(self.runtime.get_job(jid))
            except KeyError:  # evicted from the job store
                continue
        return jobs

    def _pick_debug_job(self, snapshot: Mapping[str, Any]) -> JobContext | None:
        if self.job is not None:
            return self.job
        for stop in snapshot.get("paused") or []:
            try:
                return self.runtime.get_job(stop["job_id"])
            except KeyError:
                continue
        return self._debug_job

    def _produce(self, base: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        snapshot = base()
        extra: dict[str, Any] = {}
        if self._on_trace is not None:
            extra["trace"] = {j.job_id: j.trace.total for j in self._jobs_in(snapshot)}
        if self._on_debug is not None:
            job = self._pick_debug_job(snapshot)
            extra["debug"] = job.debug.to_dict() if job is not None else {}
            extra["debug_job"] = job
        snapshot[_EXTRA] = extra
        return snapshot

    def _deliver(self, produced: dict[str, Any]) -> None:
        try:
            # the monitor's Snapshot, less the key this binding added for change detection
            snapshot = cast("Snapshot", {k: v for k, v in produced.items() if k != _EXTRA})
            extra = produced.get(_EXTRA) or {}
            with self._lock:
                if self.closed:
                    return
                self.updates += 1
                if self._on_snapshot is not None:
                    self._on_snapshot(snapshot)
                if self._on_trace is not None:
                    rows = self._new_trace_rows(snapshot, extra.get("trace") or {})
                    if rows:
                        self._on_trace(rows)
                if self._on_debug is not None:
                    self._debug_job = extra.get("debug_job")
                    self._on_debug(extra.get("debug") or {})
        except Exception:  # keep the stream alive: the ticker closes failing streams
            _log.exception("live view update failed")

    def _new_trace_rows(
        self, snapshot: Mapping[str, Any], totals: Mapping[str, int]
    ) -> list[dict[str, Any]]:
        from routilux_nb.monitor.trace import ExecutionEvent

        records: list[tuple[Any, ...]] = []
        for job in self._jobs_in(snapshot):
            jid = job.job_id
            total = totals.get(jid, job.trace.total)
            if self._totals.get(jid) == total:
                continue
            self._totals[jid] = total
            fresh = job.trace.records(since=self._cursor.get(jid, 0))
            if fresh:
                self._cursor[jid] = fresh[-1][0]
                records.extend(fresh)
        records.sort(key=lambda r: r[0])
        return [ExecutionEvent.from_record(r).to_dict() for r in records[-self._max_trace_rows :]]

    # -- user actions -----------------------------------------------------------------
    def refresh(self) -> None:
        """Ask for an immediate update (after a user action)."""
        if not self.closed:
            self.stream.force()

    def _job_for(self, job_id: str | None) -> JobContext:
        job = self._debug_job if self.job is None else self.job
        if job is not None and (job_id is None or job.job_id == job_id):
            return job
        if job_id is None:
            raise LookupError("no job is shown in the debugger")
        return self.runtime.get_job(job_id)

    def _show_debug(self, job: JobContext) -> None:
        if self._on_debug is not None:
            with self._lock:
                self._on_debug(job.debug.to_dict())

    def debug_action(self, action: str, job_id: str | None) -> str:
        """Run a debugger action on the shown job; returns a short message."""
        job = self._job_for(job_id)
        try:
            job.debug.act(action)
        finally:
            self._show_debug(job)
            self.refresh()
        return f"{action}: done"

    def set_variable(self, name: str, value: Any, job_id: str | None) -> str:
        """Edit a variable of the shown paused job; returns a short message."""
        job = self._job_for(job_id)
        try:
            job.debug.set_variable(name, value)
        finally:
            self._show_debug(job)
            self.refresh()
        return f"set {name}: done"

    def set_cell(self, name: str, row: int, column: Any, value: Any, job_id: str | None) -> str:
        """Edit a cell of a frame in the shown paused job's data; returns a short message."""
        job = self._job_for(job_id)
        try:
            job.debug.set_cell(name, row, column, value)
        finally:
            self._show_debug(job)
            self.refresh()
        return f"set {name}[{row}, {column}]: done"

    def toggle_breakpoint(self, routine_id: str) -> str:
        """Remove the routine breakpoints shown on ``routine_id``, or add one for the worker."""
        w = self.worker
        existing = [
            bp
            for bp in self.monitor.breakpoints.list(worker_id=w.worker_id, flow_id=w.flow_id)
            if bp.type == "routine"
            and bp.routine_id == routine_id
            and (self.job is None or bp.job_id in (None, self.job.job_id))
        ]
        try:
            for bp in existing:
                try:
                    self.monitor.remove_breakpoint(bp.breakpoint_id)
                except KeyError:  # removed meanwhile
                    pass
            if existing:
                return f"breakpoint on {routine_id} removed"
            self.monitor.add_breakpoint("routine", routine_id, worker=w)
            return f"breakpoint on {routine_id} added"
        finally:
            self.refresh()

    def flush(self) -> bool:
        """Deliver the current state now, changed or not (on the caller's thread).

        Used when a job ends and when the runtime shuts down: the stream's ticker stops
        with the runtime, so the last state would otherwise never reach the views.
        Returns ``False`` once the binding is closed.
        """
        if self.closed:
            return False
        try:
            produced = self.stream.produce()
        except Exception:  # the runtime is gone: keep what the views show
            _log.exception("final live view update failed")
            return False
        self.stream.last = produced
        self._deliver(produced)
        return True

    def close(self) -> None:
        """Stop the updates (idempotent)."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
        self.stream.close()
