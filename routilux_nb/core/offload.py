"""Running routine logic on executors outside this process (process pools, Dask, ...).

A runtime given an executor that is not a thread pool keeps scheduling, queues, monitoring
and breakpoints in this process and sends only the logic call out: the routine and the
activation's inputs go to the executor, and what the logic emitted, logged, printed and
changed in the job's data comes back and is applied here, in order. User code does not
change, but what crosses the boundary must pickle (Dask's executors use cloudpickle, so
notebook functions work there; a ``ProcessPoolExecutor`` needs importable functions).

>>> from concurrent.futures import ProcessPoolExecutor          # doctest: +SKIP
>>> rt = Runtime(executor=ProcessPoolExecutor(2))                # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import io
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

from . import context as _context

__all__ = ["RemoteContext", "is_remote_executor", "run_remote"]


def is_remote_executor(executor: Executor | None) -> bool:
    """True for executors whose tasks may run in another process or machine."""
    return executor is not None and not isinstance(executor, ThreadPoolExecutor)


class RemoteContext:
    """The ``ctx`` logic sees on the other side: it records instead of routing."""

    def __init__(self, routine: Any, job_id: str, data: dict[str, Any], attempt: int) -> None:
        self.routine = routine
        self.job_id = job_id
        self.data = data
        self.attempt = attempt
        self.emits: list[tuple[str, dict[str, Any]]] = []
        self.logs: list[tuple[str, dict[str, Any]]] = []
        self.worker = self  # Routine.emit calls act.worker._emit(act, event, payload)
        self._prev: Any = None

    @property
    def routine_id(self) -> str:
        return self.routine.routine_id

    @property
    def config(self) -> dict[str, Any]:
        return self.routine.config

    def emit(self, event: str, **payload: Any) -> None:
        self.routine.event(event)  # unknown events fail on the remote side, with their name
        self.emits.append((event, payload))

    def _emit(self, act: Any, event: str, payload: dict[str, Any]) -> None:
        self.emit(event, **payload)

    def log(self, message: str, **details: Any) -> None:
        self.logs.append((message, details))


def run_remote(routine: Any, inputs: dict[str, list[dict[str, Any]]], job_id: str, data: dict[str, Any],
               attempt: int) -> tuple[Any, list[Any], list[Any], dict[str, Any], str]:
    """Executed by the executor: returns (result, emits, logs, data, printed text)."""
    ctx = RemoteContext(routine, job_id, data, attempt)
    out = io.StringIO()
    prev = _context.current_activation()
    _context._local.act = ctx
    try:
        with contextlib.redirect_stdout(out):
            result = routine._invoke(ctx, inputs)
    finally:
        _context._local.act = prev
    return result, ctx.emits, ctx.logs, ctx.data, out.getvalue()


def call_offloaded(executor: Executor, act: Any, routine: Any, inputs: dict[str, list[dict[str, Any]]]) -> Any:
    """Run ``routine``'s logic on ``executor`` and apply what it did to the local activation."""
    future = executor.submit(run_remote, routine, inputs, act.job.job_id, dict(act.job.data), act.attempt)
    result, emits, logs, data, printed = future.result()
    if printed:
        print(printed, end="")  # lands in the job's output through the output router
    act.job.data.clear()
    act.job.data.update(data)
    for message, details in logs:
        act.log(message, **details)
    for event, payload in emits:
        act.emit(event, **payload)
    return result
