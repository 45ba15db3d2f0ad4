"""The activation context: what a routine sees while its logic runs.

Every activation, whether fed by a submitted job or by an upstream routine, runs with one of
these, bound to the running thread so that ``Routine.emit`` and ``print`` know which job they
belong to.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .job import JobContext
    from .routine import Routine
    from .worker import Worker

__all__ = ["ActivationContext", "current_activation"]

_local = threading.local()


def current_activation() -> ActivationContext | None:
    """The activation running on this thread, if any."""
    return getattr(_local, "act", None)


class ActivationContext:
    """Passed to logic that asks for a ``ctx`` parameter.

    ``ctx.emit(event, **payload)`` sends a payload downstream, ``ctx.data`` is the job's shared
    data, ``ctx.log(message, **details)`` appends to the job's log.
    """

    __slots__ = ("_prev", "act_id", "attempt", "hop", "inputs", "hops", "job", "recorded", "routine", "worker")

    def __init__(
        self,
        worker: Worker,
        routine: Routine,
        job: JobContext,
        inputs: dict[str, list[dict[str, Any]]],
        hop: Any,
        act_id: int,
        attempt: int = 0,
    ) -> None:
        self.worker = worker
        self.routine = routine
        self.job = job
        self.inputs = inputs
        self.hop = hop
        self.act_id = act_id
        self.attempt = attempt
        #: the hop (call-stack link) of each event this activation emitted, made once per event
        self.hops: dict[str, Any] = {}
        #: what the monitor noted during the activation, written out when it ends
        self.recorded: list[Any] | None = None
        self._prev: ActivationContext | None = None

    @property
    def routine_id(self) -> str:
        return self.routine.routine_id

    @property
    def job_id(self) -> str:
        return self.job.job_id

    @property
    def worker_id(self) -> str:
        return self.worker.worker_id

    @property
    def data(self) -> dict[str, Any]:
        """The job's data, shared by all routines of the job."""
        return self.job.data

    @property
    def config(self) -> dict[str, Any]:
        return self.routine.config

    def artifact(self, name: str, obj: Any) -> Any:
        """Attach a result to the job: text, bytes, a file (``pathlib.Path``), a DataFrame, a
        matplotlib figure or a JSON dict/list (see :mod:`routilux_nb.store.artifacts`).
        Returns its :class:`~routilux_nb.store.artifacts.Artifact` description; ``job.artifacts``
        lists them and ``GET /jobs/{id}/artifacts`` serves them.

        >>> ctx.artifact("summary", df.describe())        # doctest: +SKIP
        """
        runtime = self.worker.runtime
        art = runtime.artifacts.save(self.job.job_id, name, obj, routine_id=self.routine_id)
        self.job.log(self.routine_id, "artifact", name=name, artifact_id=art.artifact_id, kind=art.kind)
        return art

    def emit(self, event: str, **payload: Any) -> None:
        """Send ``payload`` out of ``event`` to every connected slot."""
        self.worker._emit(self, event, payload)

    def log(self, message: str, **details: Any) -> None:
        """Append an entry to the job's log (``GET /jobs/{id}/logs``)."""
        self.job.log(self.routine.routine_id, "log", message=message, **details)

    def __enter__(self) -> ActivationContext:
        self._prev = getattr(_local, "act", None)
        _local.act = self
        return self

    def __exit__(self, *exc: object) -> None:
        _local.act = self._prev
        self._prev = None

    def __repr__(self) -> str:
        return f"ActivationContext(routine_id={self.routine_id!r}, job_id={self.job_id!r})"
