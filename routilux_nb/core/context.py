"""The activation context: what a routine sees while its logic runs.

Every activation, whether fed by a submitted job or by an upstream routine, runs with one of
these, bound to the running thread so that ``Routine.emit`` and ``print`` know which job they
belong to.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .job import JobContext
    from .routine import Routine
    from .worker import Worker

__all__ = ["ActivationContext", "activation_depth", "current_activation"]

_local = threading.local()


def current_activation() -> ActivationContext | None:
    """The activation running on this thread, if any."""
    return getattr(_local, "act", None)


def activation_depth() -> int:
    """How many activations are nested on this thread (an emitter making room runs the
    consumer inside its own activation); 0 outside any."""
    act, depth = current_activation(), 0
    while act is not None:
        depth += 1
        act = act._prev
    return depth


class ActivationContext:
    """Passed to logic that asks for a ``ctx`` parameter.

    ``ctx.emit(event, payload)`` or ``ctx.emit(event, **fields)`` sends an item downstream, ``ctx.data`` is the job's shared
    data, ``ctx.log(message, **details)`` appends to the job's log.
    """

    __slots__ = (
        "_prev",
        "act_id",
        "attempt",
        "blocked",
        "hop",
        "inputs",
        "job",
        "outs",
        "recorded",
        "routine",
        "worker",
    )

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
        #: per event emitted: its hop (call-stack link) and its routes, made once per event
        self.outs: dict[str, tuple[Any, Any]] = {}
        #: what the monitor noted during the activation, written out when it ends
        self.recorded: list[Any] | None = None
        self._prev: ActivationContext | None = None
        #: seconds this activation waited for room in full slots (not part of its run time)
        self.blocked = 0.0

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
        self.job.log(
            self.routine_id, "artifact", name=name, artifact_id=art.artifact_id, kind=art.kind
        )
        runtime.monitor.note(self.job, "artifact_created", self.routine_id, name, art.to_dict())
        return art

    def emit(self, event: str, payload: Mapping[str, Any] | None = None, /, **fields: Any) -> None:
        """Send an item out of ``event`` to every connected slot.

        The item is ``payload`` (a mapping, copied) and/or the keyword ``fields``:
        ``ctx.emit("output", row)``, ``ctx.emit("output", value=1)``. Any key is ordinary
        data, ``event`` and ``self`` included.

        Payloads: a pandas DataFrame/Series among the item's values reaches each connected
        slot as its own (lazy, copy-on-write) copy and a numpy array as a read-only view,
        so a downstream routine never changes the emitter's data or the user's original
        (``arr.copy()`` gives a writable array); other values are passed by reference. See
        :mod:`routilux_nb.core.payloads` (``set_payload_policy("copy" | "share")``).
        """
        item = dict(payload) if payload is not None else fields
        if payload is not None and fields:
            item.update(fields)
        self.worker._emit(self, event, item)

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
