"""Job observers beside the monitor: the engine calls one object's hooks, this fans them out.

The engine calls its runtime's ``monitor`` on every hook. A runtime that also has observers
of job transitions (a store's write-through writer) wraps the monitor in a :class:`JobTee`:
``job_created`` and ``job_status`` reach the monitor and then each observer; every other hook
and attribute is the monitor's own.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["JobTee"]

_OWN = frozenset({"armed", "enabled", "job_created", "job_status", "wrapped"})


class JobTee:
    """The monitor, with its job hooks also sent to ``observers`` (see the module docstring)."""

    def __init__(self, monitor: Any, observers: Iterable[Any]) -> None:
        self._monitor = monitor
        self._observers = tuple(observers)
        # the monitor's other hooks are bound here once, so the engine's hot path calls them
        # directly (no __getattr__ per call); data attributes are still read through to it
        for name in dir(type(monitor)):
            if name.startswith("_") or name in _OWN:
                continue
            if callable(getattr(type(monitor), name, None)):
                setattr(self, name, getattr(monitor, name))

    @property
    def wrapped(self) -> Any:
        """The monitor itself."""
        return self._monitor

    @property
    def armed(self) -> bool:
        return bool(self._monitor.armed)

    @property
    def enabled(self) -> bool:
        return bool(self._monitor.enabled)

    def job_created(self, job: Any) -> None:
        self._monitor.job_created(job)
        for observer in self._observers:
            observer.job_created(job)

    def job_status(self, job: Any, old: str) -> None:
        self._monitor.job_status(job, old)
        for observer in self._observers:
            observer.job_status(job, old)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._monitor, name)

    def __repr__(self) -> str:
        return f"JobTee({self._monitor!r}, observers={len(self._observers)})"
