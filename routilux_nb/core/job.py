"""Jobs: one submitted piece of work travelling through a flow on a worker.

A :class:`JobContext` carries the spec's fields (``job_id, worker_id, flow_id, status,
created_at, completed_at, metadata, data, trace_log, error``) and is also the handle a user
holds: ``wait()``, ``pause()``, ``resume()``, ``cancel()``. A job completes by itself when
nothing of it is queued, running, parked or scheduled.
"""

from __future__ import annotations

import threading
import warnings
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._jobrun import FINISHED, JOB_STATUSES, Done, JobRun, JobStatus, KeyState
from ._parked import Parked
from .clock import iso, now
from .display import HtmlRepr
from .errors import JobStateError, JobWaitTimeout
from .forking import Forkable
from .jsonsafe import to_jsonable
from .steps import StepLog

if TYPE_CHECKING:
    from .worker import Worker

__all__ = ["FINISHED", "JOB_STATUSES", "JobContext", "JobStatus", "Parked", "job_fields"]

_logs_lock = threading.Lock()


class JobContext(Forkable, HtmlRepr):
    """State and handle of one job (see module docstring).

    Recorded steps (when the runtime records them): ``job.steps`` (DataFrame),
    ``job.step(id)``, ``job.fork(step, inputs=..., data=...)``, ``job.compare(other)`` and
    ``job.retry()`` come from :class:`~routilux_nb.core.forking.Forkable`.
    """

    def __init__(
        self,
        job_id: str,
        worker: Worker,
        *,
        metadata: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        timeout: float | None = None,
        log_size: int = 1000,
        entry: tuple[str, str] | None = None,
    ) -> None:
        self.job_id = job_id
        self.worker_id = worker.worker_id
        self.flow_id = worker.flow.flow_id
        #: the version of the flow the job runs (see ``Runtime.flow_versions``)
        self.flow_version: int | None = worker.flow_version
        self.status: JobStatus = "pending"
        self.created_at = now()
        self.started_at: float | None = None
        self.completed_at: float | None = None
        self.metadata: dict[str, Any] = metadata if metadata is not None else {}
        self.data: dict[str, Any] = data if data is not None else {}
        self.error: str | None = None
        self.error_type: str | None = None
        self.error_traceback: str | None = None
        self.cancelled_at: float | None = None
        self.cancel_reason: str | None = None
        self.timeout = timeout
        self.entry = entry
        self._log_size = log_size
        self._logs: deque[dict[str, Any]] | None = None  # made by the first entry
        self._worker = worker
        #: the engine's state of this job (see :mod:`routilux_nb.core._jobrun`)
        self._run = JobRun()
        limits = worker.runtime.step_limits
        if limits is not None:  # recorded steps (core.steps): job.steps, job.fork
            self._run.steps = StepLog(limits)
        #: filled by the monitor (trace ring, metrics, output); ``None`` without monitoring
        self.monitor: Any = None

    @property
    def logs(self) -> deque[dict[str, Any]]:
        """The job's log entries, oldest first (the newest ``Runtime(log_size=...)`` kept)."""
        logs = self._logs
        if logs is None:
            with _logs_lock:  # two threads never make two logs of one job
                logs = self._logs
                if logs is None:
                    logs = self._logs = deque(maxlen=self._log_size)
        return logs

    @property
    def parked(self) -> list[Parked]:
        """What of this job waits at breakpoints, oldest first."""
        return list(self._run.parked)

    @property
    def discarded(self) -> int:
        """Items discarded: by cancelling, dropped at a breakpoint, or never consumed."""
        return self._run.discarded

    def routine_running(self, routine_id: str) -> bool:
        """True while an activation of ``routine_id`` runs for this job."""
        return self._run.keys.get(routine_id) == KeyState.RUNNING

    # -- user API ------------------------------------------------------------------------
    @property
    def worker(self) -> Worker:
        return self._worker

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    def wait(self, timeout: float | None = 60.0) -> JobContext:
        """Block until the job completes, fails or is cancelled; returns the job.

        Raises :class:`~routilux_nb.core.errors.JobWaitTimeout` if ``timeout`` seconds pass
        first (the job keeps running). A job paused at a breakpoint does not finish until
        resumed: click Resume in ``rx.debugger(job)`` or the dashboard (the buttons work
        during this wait), call ``job.resume()`` (from another thread, or before waiting),
        or wait with ``await job.wait_async()``, which keeps the kernel free.
        """
        done = self._run.done
        if done is not None and done.is_set():  # finished (and recorded): nothing to wait for
            return self
        if not self._done_event().wait(timeout):
            status = self.status
            if status == "paused":
                hint = (
                    ": it is paused at a breakpoint and runs on only when resumed. Click Resume"
                    " in rx.debugger(job) or the dashboard (the buttons work during the wait),"
                    " call job.resume(), or wait with `await job.wait_async()`"
                )
            else:
                hint = "; wait longer (timeout=None waits for ever) or cancel it with job.cancel()"
            raise JobWaitTimeout(f"job {self.job_id!r} is still {status} after {timeout} s{hint}")
        return self

    async def wait_async(self, timeout: float | None = 60.0, poll: float = 0.02) -> JobContext:
        """``await job.wait_async()``: like :meth:`wait`, but the event loop keeps running.

        In a notebook this keeps widget buttons (Resume, Step, ...) working while the cell
        waits: the kernel handles widget messages whenever the cell's coroutine yields,
        whereas a plain ``job.wait()`` holds the kernel until it returns.
        """
        import asyncio
        import time

        done = self._done_event()
        deadline = None if timeout is None else time.monotonic() + timeout
        while not done.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                return self.wait(0)  # raises JobWaitTimeout with the usual message
            await asyncio.sleep(poll)
        return self

    def _done_event(self) -> Done:
        return self._worker.done_event(self)

    @property
    def entry_data(self) -> dict[str, Any] | None:
        """The payload the job was submitted with (kept to retry it from its entry)."""
        return self._run.entry_data

    def add_done_callback(self, fn: Callable[[JobContext], None]) -> None:
        """Call ``fn(job)`` once the job has finished (at once if it already has).

        ``fn`` runs in the thread that finished the job, with the engine's lock held: keep it
        to signalling (set an event, release a semaphore); it must not wait, submit or touch
        the job's worker. An exception in ``fn`` is logged and ignored.
        """
        if not self._worker.add_done_callback(self, fn):
            fn(self)

    def pause(self) -> JobContext:
        """Stop starting new activations of this job (running ones finish); nothing is lost.

        A finished job cannot pause: that warns (``UserWarning``) and returns the job.
        """
        if self.is_finished:
            warnings.warn(
                f"job {self.job_id!r} is {self.status}, not running: nothing to pause",
                UserWarning,
                stacklevel=2,
            )
            return self
        self._worker.parking.pause_job(self)
        return self

    def resume(self) -> JobContext:
        """Continue a paused job, releasing everything parked at breakpoints.

        A job that is not paused has nothing to resume: that warns (``UserWarning``) and
        returns the job, so re-running a notebook cell is harmless.
        """
        if self.status != "paused":
            warnings.warn(
                f"job {self.job_id!r} is {self.status}, not paused: nothing to resume",
                UserWarning,
                stacklevel=2,
            )
            return self
        self._worker.parking.resume_job(self)
        return self

    def cancel(self, reason: str | None = None) -> JobContext:
        """Cancel the job: queued items are discarded (and counted), status ``cancelled``."""
        if self.is_finished:
            raise JobStateError(
                f"job {self.job_id!r} is already {self.status}; only unfinished jobs can be cancelled"
            )
        self._worker.finish_job(self, "cancelled", reason=reason or "cancelled by user")
        return self

    def complete(self) -> JobContext:
        """Mark the job completed now (``POST /jobs/{id}/complete``); pending work is discarded."""
        if self.is_finished:
            raise JobStateError(f"job {self.job_id!r} is already {self.status}")
        self._worker.finish_job(self, "completed")
        return self

    def fail(self, error: str) -> JobContext:
        """Mark the job failed with ``error`` (``POST /jobs/{id}/fail``)."""
        if self.is_finished:
            raise JobStateError(f"job {self.job_id!r} is already {self.status}")
        self._worker.finish_job(self, "failed", error=error, error_type="JobFailed")
        return self

    def log(self, routine_id: str | None, action: str, **details: Any) -> None:
        """Append a log entry (``GET /jobs/{id}/logs``)."""
        self.logs.append(
            {"timestamp": now(), "routine_id": routine_id, "action": action, "details": details}
        )

    @property
    def trace_id(self) -> str | None:
        """W3C trace id (32 hex digits) of the job's OpenTelemetry trace; ``None`` unless exported."""
        return self.metadata.get("otel.trace_id")

    @property
    def duration(self) -> float | None:
        end = self.completed_at or (None if self.is_finished else now())
        return None if end is None else end - self.created_at

    def _monitored(self, what: str) -> Any:
        if self.monitor is None:
            raise RuntimeError(
                f"{what} needs monitoring: this job's runtime was created with monitor=False"
            )
        return self.monitor

    @property
    def trace(self) -> Any:
        """The recorded execution events (bounded ring; ``.to_pandas()``, ``.events()``)."""
        return self._monitored("job.trace").trace

    @property
    def metrics(self) -> Any:
        """Per-routine metrics, counts and errors of this job (``.to_dict()``, ``.to_pandas()``)."""
        return self._monitored("job.metrics").metrics

    def output(self, incremental: bool = False) -> str:
        """What routines printed for this job; ``incremental`` returns only what is new."""
        return str(self._monitored("job.output()").output.read(incremental))

    @property
    def debug(self) -> Any:
        """The job's :class:`~routilux_nb.monitor.debug.DebugSession`."""
        self._monitored("job.debug")
        return self._worker.runtime.monitor.debug_session(self)

    @property
    def artifacts(self) -> list[Any]:
        """What the job's routines attached with ``ctx.artifact`` (oldest first); ``.load()``
        on the runtime's ``artifacts`` store gives each back as its Python type."""
        return list(self._worker.runtime.artifacts.for_job(self.job_id))

    def artifact(self, name: str) -> Any:
        """The newest artifact named ``name``, loaded back as its Python type."""
        found = [a for a in self.artifacts if a.name == name]
        if not found:
            names = sorted({a.name for a in self.artifacts})
            raise KeyError(
                f"job {self.job_id!r} has no artifact {name!r}; it has: {names or 'none'}"
            )
        return self._worker.runtime.artifacts.load(found[-1].artifact_id)

    @property
    def trace_log(self) -> list[dict[str, Any]]:
        """The job's recorded execution events, oldest first (bounded)."""
        return self.monitor.trace.to_list() if self.monitor is not None else []

    def to_dict(self, *, include_data: bool = True) -> dict[str, Any]:
        """The spec's JobContext fields (timestamps ISO 8601 with timezone)."""
        return job_fields(self, include_data=include_data)

    def __repr__(self) -> str:
        extra = f", error={self.error!r}" if self.error else ""
        return f"JobContext(job_id={self.job_id!r}, flow_id={self.flow_id!r}, status={self.status!r}{extra})"


def job_fields(job: Any, *, include_data: bool = True) -> dict[str, Any]:
    """The spec's JobContext fields of anything shaped like a job (live or stored), always
    JSON-serializable: metadata and data go through :func:`~routilux_nb.core.jsonsafe.to_jsonable`
    (DataFrames in its split layout, arrays as lists, timestamps ISO 8601, NaN as ``null``)."""
    d: dict[str, Any] = {
        "job_id": job.job_id,
        "worker_id": job.worker_id,
        "flow_id": job.flow_id,
        "status": job.status,
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "completed_at": iso(job.completed_at),
        "metadata": job.metadata,
        "error": job.error,
    }
    version = getattr(job, "flow_version", None)
    if version is not None:
        d["flow_version"] = version
    if include_data:
        d["data"] = job.data
    if job.error_traceback:
        d["error_traceback"] = job.error_traceback
    if job.cancelled_at is not None:
        d["cancelled_at"] = iso(job.cancelled_at)
        d["cancel_reason"] = job.cancel_reason
    out: dict[str, Any] = to_jsonable(d)
    return out
