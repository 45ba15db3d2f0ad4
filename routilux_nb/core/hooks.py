"""The observer interface through which the monitor layer sees the engine.

The engine calls these hooks on its hot paths; the default :class:`NullMonitor` does nothing,
so an engine without monitoring pays one no-op call per hook. ``armed`` is read before any
breakpoint check: while it is false, breakpoints cost a single attribute read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .context import ActivationContext
    from .job import JobContext, Parked
    from .worker import Worker

__all__ = ["NullMonitor"]


class NullMonitor:
    armed = False
    #: false for this no-op monitor; a real monitor sets it
    enabled = False

    def attach(self, runtime: Any) -> None: ...
    def job_created(self, job: JobContext) -> None: ...
    def job_status(self, job: JobContext, old: str) -> None: ...
    def activation_start(self, act: ActivationContext) -> None: ...
    def activation_end(self, act: ActivationContext, duration: float, error: BaseException | None) -> None: ...
    def emit(self, act: ActivationContext, event: str, payload: dict[str, Any]) -> None: ...
    def routine_error(self, act: ActivationContext, error: BaseException, tb: str, strategy: str) -> None: ...
    def parked(self, parked: Parked) -> None: ...
    def unparked(self, parked: Parked, action: str) -> None: ...
    def discarded(self, job: JobContext, count: int, reason: str) -> None: ...
    def worker_status(self, worker: Worker, old: str) -> None: ...

    def check(self, kind: str, job: JobContext, routine_id: str, name: str | None,
              payload: Any, connection_index: int | None = None) -> str | None:
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
