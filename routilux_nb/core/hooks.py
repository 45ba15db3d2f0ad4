"""The observer interface through which the monitor layer sees the engine.

The engine calls the hooks of :class:`MonitorHooks` on its hot paths; the default
:class:`NullMonitor` does nothing, so an engine without monitoring pays one no-op call per
hook. ``armed`` is read before any breakpoint check: while it is false, breakpoints cost a
single attribute read.

Hook order for one activation, all on the thread that runs it: ``activation_start``, then
``emit`` once per emitted payload, then ``activation_end`` (with the wall-clock duration of
the logic, less ``act.blocked``: the time it waited for room in full slots), then ``routine_error`` if it raised. ``job_created`` comes before any of its
job's activations; ``job_status`` after every status change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .context import ActivationContext
    from .job import JobContext, Parked
    from .worker import Worker

__all__ = ["MonitorHooks", "NullMonitor"]


@runtime_checkable
class MonitorHooks(Protocol):
    """What the engine calls on its monitor (``Runtime(monitor=...)``)."""

    #: true while any breakpoint is enabled (``check`` is called only then)
    armed: bool
    #: false only for a monitor that records nothing
    enabled: bool

    def attach(self, runtime: Any) -> None:
        """Called once by the runtime that owns this monitor."""

    def add_job_observer(self, observer: Any) -> None:
        """Also send ``job_created`` and ``job_status`` to ``observer`` (e.g. a store's writer)."""

    def job_created(self, job: JobContext) -> None:
        """A job exists (before any of its items is delivered)."""

    def job_status(self, job: JobContext, old: str) -> None:
        """``job.status`` changed from ``old``."""

    def activation_start(self, act: ActivationContext) -> None:
        """A routine's logic is about to run with ``act.inputs``."""

    def activation_end(
        self, act: ActivationContext, duration: float, error: BaseException | None
    ) -> None:
        """The logic returned (or raised ``error``) after ``duration`` wall seconds, not
        counting ``act.blocked`` (seconds it waited for room in full slots)."""

    def emit(self, act: ActivationContext, event: str, payload: dict[str, Any]) -> None:
        """The activation emitted ``payload`` on ``event`` (before it is routed)."""

    def routine_error(
        self, act: ActivationContext, error: BaseException, tb: str, strategy: str
    ) -> None:
        """The activation raised; ``strategy`` is what the engine does about it."""

    def parked(self, parked: Parked) -> None:
        """Work was parked at a breakpoint."""

    def unparked(self, parked: Parked, action: str) -> None:
        """Parked work was released (``resume``, ``step_over``, ``step_into``) or dropped."""

    def discarded(self, job: JobContext, count: int, reason: str) -> None:
        """``count`` items of the job were thrown away (``reason`` says why)."""

    def note(
        self,
        job: JobContext,
        event_type: str,
        routine_id: str | None,
        detail: Any = None,
        payload: Any = None,
    ) -> None:
        """Something happened to the job that the engine's own hooks do not cover (e.g.
        ``artifact_created``): recorded in its trace and published like any event."""

    def worker_status(self, worker: Worker, old: str) -> None:
        """``worker.status`` changed from ``old``."""

    def check(
        self,
        kind: str,
        job: JobContext,
        routine_id: str,
        name: str | None,
        payload: Any,
        connection_index: int | None = None,
    ) -> str | None:
        """The id of the breakpoint hit at this point, or ``None`` (only while ``armed``)."""

    def shutdown(self) -> None:
        """The runtime shuts down."""


class NullMonitor:
    armed = False
    #: false for this no-op monitor; a real monitor sets it
    enabled = False

    def __init__(self) -> None:
        self.job_observers: list[Any] = []

    def attach(self, runtime: Any) -> None: ...
    def add_job_observer(self, observer: Any) -> None:
        self.job_observers.append(observer)

    def job_created(self, job: JobContext) -> None:
        for observer in self.job_observers:
            observer.job_created(job)

    def job_status(self, job: JobContext, old: str) -> None:
        for observer in self.job_observers:
            observer.job_status(job, old)

    def activation_start(self, act: ActivationContext) -> None: ...
    def activation_end(
        self, act: ActivationContext, duration: float, error: BaseException | None
    ) -> None: ...
    def emit(self, act: ActivationContext, event: str, payload: dict[str, Any]) -> None: ...
    def routine_error(
        self, act: ActivationContext, error: BaseException, tb: str, strategy: str
    ) -> None: ...
    def parked(self, parked: Parked) -> None: ...
    def unparked(self, parked: Parked, action: str) -> None: ...
    def discarded(self, job: JobContext, count: int, reason: str) -> None: ...
    def note(
        self,
        job: JobContext,
        event_type: str,
        routine_id: str | None,
        detail: Any = None,
        payload: Any = None,
    ) -> None: ...
    def worker_status(self, worker: Worker, old: str) -> None: ...

    def check(
        self,
        kind: str,
        job: JobContext,
        routine_id: str,
        name: str | None,
        payload: Any,
        connection_index: int | None = None,
    ) -> str | None:
        """Breakpoint id hit at this point, or ``None``."""
        return None

    def shutdown(self) -> None: ...

    def __getattr__(self, name: str) -> object:
        if name.startswith("__"):
            raise AttributeError(name)
        raise RuntimeError(
            f"{name} needs monitoring, but this runtime was created with monitor=False; "
            "create it with Runtime() (monitoring on) to use traces, metrics, history and breakpoints"
        )
