"""The read side of :class:`~routilux_nb.core.worker.Worker`: history, statistics, queue
status, pause points and the spec's WorkerState dict (``GET /workers/{id}``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._jobrun import FINISHED, KeyState
from .clock import iso

if TYPE_CHECKING:
    from ._jobrun import WorkerStatus
    from ._scheduling import Schedule
    from .admission import Admission
    from .flow import Flow
    from .hooks import MonitorHooks
    from .job import JobContext
    from .runtime import Runtime

__all__ = ["HISTORY_IN_DICT", "WorkerViews"]

#: how many execution history records ``to_dict`` includes (the whole ring: ``execution_history``)
HISTORY_IN_DICT = 50


class WorkerViews:
    """Read-only views of a worker (a mixin: the worker owns the state they read)."""

    runtime: Runtime
    flow: Flow
    worker_id: str
    created_at: float
    started_at: float
    completed_at: float | None
    error: str | None
    error_traceback: str | None
    _sched: Schedule
    _admission: Admission
    _mon: MonitorHooks

    if TYPE_CHECKING:

        @property
        def flow_id(self) -> str: ...

        @property
        def status(self) -> WorkerStatus: ...

        @property
        def jobs_processed(self) -> int: ...

        @property
        def jobs_failed(self) -> int: ...

        @property
        def max_active_jobs(self) -> int | None: ...

    @property
    def execution_history(self) -> Any:
        """The worker's execution history (last emits): ``.to_list()``, ``.to_pandas()``."""
        return self.runtime.monitor.worker_history(self)

    @property
    def history(self) -> Any:
        """Same as :attr:`execution_history`."""
        return self.execution_history

    def statistics(self) -> dict[str, Any]:
        """Jobs processed/failed, success rate, durations, per-routine statistics."""
        return self.runtime.monitor.worker_statistics(self)  # type: ignore[no-any-return]

    def routine_states(self) -> dict[str, dict[str, Any]]:
        return self.runtime.monitor.routine_states(self)  # type: ignore[no-any-return]

    @property
    def active_jobs(self) -> list[JobContext]:
        with self._sched.lock:
            return list(self._sched.jobs.values())

    def queue_status(self, job_id: str | None = None) -> dict[str, list[dict[str, Any]]]:
        """Queue status of every slot of every routine: ``{routine_id: [status, ...]}``."""
        sched = self._sched
        with sched.lock:
            return {
                rid: [sched.queue(rid, s).status(job_id) for s in routine.slot_specs]
                for rid, routine in list(self.flow.routines.items())
            }

    def pause_points(self) -> list[dict[str, Any]]:
        with self._sched.lock:
            return [
                {"job_id": p.job.job_id, **p.location()}
                for j in self._sched.jobs.values()
                for p in j._run.parked
            ]

    def deferred_events(self) -> list[dict[str, str]]:
        """Routines of jobs that became ready while held (paused) and run on resume."""
        with self._sched.lock:
            return [
                {"job_id": j.job_id, "routine_id": rid}
                for j in self._sched.jobs.values()
                for rid in sorted(j._run.deferred)
            ]

    @property
    def pending_jobs(self) -> list[JobContext]:
        """Jobs waiting for admission, in the order they will start."""
        with self._sched.lock:
            return [job for job, _ in self._admission.pending if job.status not in FINISHED]

    def running_routines(self, job: JobContext) -> list[str]:
        """Routines of ``job`` with an activation running now."""
        with self._sched.lock:
            return [rid for rid, state in job._run.keys.items() if state == KeyState.RUNNING]

    def to_dict(self) -> dict[str, Any]:
        """The spec's WorkerState fields; ``execution_history`` holds the last
        :data:`HISTORY_IN_DICT` records (all of them: :attr:`execution_history`)."""
        with self._sched.lock:
            pending = len(self._sched.ready)
            active = len(self._sched.jobs)
        monitored = getattr(self._mon, "enabled", False)
        return {
            "worker_id": self.worker_id,
            "flow_id": self.flow_id,
            "status": self.status,
            "routine_states": self.routine_states() if monitored else {},
            "execution_history": self.execution_history.to_list()[-HISTORY_IN_DICT:]
            if monitored
            else [],
            "jobs_processed": self.jobs_processed,
            "jobs_failed": self.jobs_failed,
            "created_at": iso(self.created_at),
            "started_at": iso(self.started_at),
            "completed_at": iso(self.completed_at),
            "error": self.error,
            "error_traceback": self.error_traceback,
            "pause_points": self.pause_points(),
            "deferred_events": self.deferred_events(),
            "pending_tasks": pending,
            "active_jobs": active,
            "max_active_jobs": self.max_active_jobs,
            "pending_jobs": len(self.pending_jobs),
        }
