"""The exception tree of routilux_nb.

::

    RoutiluxError
    ├── NotFound                     an id names nothing (also a ``KeyError``); the HTTP API answers 404
    │   ├── JobNotFound, WorkerNotFound, FlowNotFound, BreakpointNotFound, StepNotFound
    │   └── UnknownRoutineError, UnknownSlotError, UnknownEventError (also FlowErrors)
    ├── FlowError                    a flow is malformed or refers to something that does not exist
    │   ├── UnknownRoutineError
    │   ├── UnknownSlotError
    │   ├── UnknownEventError
    │   └── DSLError                 a YAML/JSON flow definition cannot be read (line and reason)
    ├── RegistryError                a routine class name is not registered
    ├── StateError                   an operation does not fit the current state
    │   ├── WorkerNotRunningError    submit/post to a stopped worker
    │   ├── JobStateError            e.g. resume a job that is not paused
    │   └── StepDropped              a step was dropped past the job's recording cap (fork)
    ├── BackpressureTimeout          an emit waited too long for room in a full slot
    ├── JobTimeoutError              a job exceeded its timeout
    └── JobWaitTimeout               ``job.wait(timeout)`` elapsed (also a ``TimeoutError``)

``ExpressionError`` (unsafe or invalid condition) lives in :mod:`routilux_nb.core.expressions`.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "BackpressureTimeout",
    "BreakpointNotFound",
    "DSLError",
    "FlowError",
    "FlowNotFound",
    "JobNotFound",
    "JobStateError",
    "JobTimeoutError",
    "JobWaitTimeout",
    "NotFound",
    "RegistryError",
    "RoutiluxError",
    "StateError",
    "StepDropped",
    "StepNotFound",
    "UnknownEventError",
    "UnknownRoutineError",
    "UnknownSlotError",
    "WorkerNotFound",
    "WorkerNotRunningError",
]


def _choices(existing: Iterable[str]) -> str:
    names = sorted(existing)
    return ", ".join(repr(n) for n in names) if names else "none"


class RoutiluxError(Exception):
    """Base class of every error raised by routilux_nb."""


class FlowError(RoutiluxError):
    """A flow is malformed or refers to something that does not exist."""


class NotFound(RoutiluxError, KeyError):
    """An id names nothing. ``str()`` is the message (not a ``KeyError`` repr)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else type(self).__name__


class JobNotFound(NotFound):
    """No job has this id."""


class WorkerNotFound(NotFound):
    """No worker has this id."""


class FlowNotFound(NotFound):
    """No flow has this id."""


class BreakpointNotFound(NotFound):
    """No breakpoint has this id."""


class UnknownRoutineError(FlowError, NotFound):
    def __init__(self, routine_id: str, existing: Iterable[str], where: str = "flow") -> None:
        self.routine_id = routine_id
        super().__init__(
            f"unknown routine {routine_id!r} in {where}; existing routines: {_choices(existing)}"
        )

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownSlotError(FlowError, NotFound):
    def __init__(self, routine_id: str, slot: str, existing: Iterable[str]) -> None:
        self.routine_id, self.slot_name = routine_id, slot
        super().__init__(
            f"routine {routine_id!r} has no slot {slot!r}; its slots: {_choices(existing)}"
        )

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownEventError(FlowError, NotFound):
    def __init__(self, routine_id: str, event: str, existing: Iterable[str]) -> None:
        self.routine_id, self.event_name = routine_id, event
        super().__init__(
            f"routine {routine_id!r} has no event {event!r}; its events: {_choices(existing)}"
        )

    def __str__(self) -> str:
        return str(self.args[0])


class DSLError(FlowError):
    """A flow definition cannot be read; ``line`` is 1-based when known."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        self.reason, self.line = reason, line
        super().__init__(f"line {line}: {reason}" if line else reason)


class RegistryError(RoutiluxError, KeyError):
    def __init__(self, name: str, existing: Iterable[str], hint: str | None = None) -> None:
        self.name = name
        super().__init__(
            hint or f"no routine class registered as {name!r}; registered: {_choices(existing)}"
        )

    def __str__(self) -> str:
        return str(self.args[0])


class StateError(RoutiluxError):
    """An operation does not fit the current state of a worker or job."""


class WorkerNotRunningError(StateError):
    """The worker is stopped (or failed) and accepts no more jobs."""


class JobStateError(StateError):
    """The job is not in a state that allows this operation."""


class BackpressureTimeout(RoutiluxError, TimeoutError):
    """An emit waited longer than the slot's ``put_timeout`` for room in a full queue."""


class JobTimeoutError(RoutiluxError, TimeoutError):
    """A job ran longer than its timeout."""


class JobWaitTimeout(RoutiluxError, TimeoutError):
    """``job.wait(timeout)`` returned before the job finished."""


class StepNotFound(NotFound):
    """A job has no recorded step with this activation id or trace seq (``job.fork``)."""


class StepDropped(StateError):
    """The step was recorded but dropped past the job's cap (``Runtime(record_steps=...)``)."""
