"""What the live views' "fork from here" does on the runtime, and the job list's lineage.

:class:`StepForker` reads a recorded step (or the debugger's parked activation) for the
editor and starts the fork with ``job.fork(step, inputs=..., data=...)``;
:func:`with_lineage` adds ``forked_from``/``forked_step`` to the job summaries of a
snapshot, so the job list links a fork to its origin.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from routilux_nb.core.job import JobContext
    from routilux_nb.core.runtime import Runtime
    from routilux_nb.monitor.types import Snapshot

    from .binding import LiveBinding

__all__ = ["Lineage", "StepForker", "wire_fork"]

_NONE: dict[str, Any] = {}


class StepForker:
    """``load`` and ``start`` of :meth:`~.widgets._fork.ForkSource.enable_fork` for a binding."""

    def __init__(self, binding: LiveBinding) -> None:
        self.binding = binding

    def _job(self, job_id: str) -> JobContext:
        try:
            return self.binding.runtime.get_job(job_id)
        except KeyError:
            raise LookupError(
                f"job {job_id!r} is not in this runtime any more (evicted or never there)"
            ) from None

    def load(
        self, job_id: str, step: Any = None, seq: Any = None, parked: bool = False
    ) -> dict[str, Any]:
        """The step to edit: named by activation id or trace seq, or the parked activation."""
        job = self._job(job_id)
        if parked:
            stop = job.debug.current
            if stop is None or not stop.is_activation:
                raise LookupError(
                    f"job {job_id!r} is not parked before an activation: nothing to fork from"
                )
            step = stop.act_id
        found = job.step(None if step is None else int(step), seq=None if seq is None else int(seq))
        flow = self.binding.runtime.flows.get(job.flow_id) or job.worker.flow  # what fork runs
        routine = flow.get_routine(found.routine_id)
        return {
            "job_id": job.job_id,
            "step": found.step,
            "seq": found.seq,
            "routine": found.routine_id,
            "status": found.status,
            "slots": list(routine.slot_specs),
            "inputs": found.inputs,
            "data": found.data,
        }

    def start(self, job_id: str, step: int, inputs: Any, data: Any) -> str:
        """Fork ``job_id`` at ``step`` (``None`` inputs/data: the recorded ones); the new id."""
        new = self._job(job_id).fork(int(step), inputs=inputs, data=data)
        self.binding.refresh()
        return new.job_id


def wire_fork(view: Any, binding: LiveBinding, *, parked: bool = False) -> None:
    """Offer "fork from here" in ``view`` when the runtime records steps (``parked``: also
    without recording, for the debugger's parked activation, which needs none)."""
    if not parked and getattr(binding.runtime, "step_limits", None) is None:
        return
    forker = StepForker(binding)
    view.enable_fork(forker.load, forker.start)


class Lineage:
    """Which job each job was forked from, read once per job (a fork's origin never changes)."""

    def __init__(self, runtime: Runtime, size: int = 1024) -> None:
        self.runtime = runtime
        self._known: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def of(self, job_id: str) -> dict[str, Any]:
        """``{"forked_from", "forked_step"}`` of a fork, ``{}`` for any other job."""
        with self._lock:
            known = self._known.get(job_id)
        if known is not None:
            return known
        try:
            meta = self.runtime.get_job(job_id).metadata or {}
        except KeyError:
            return _NONE
        origin = meta.get("forked_from")
        found = (
            {"forked_from": str(origin), "forked_step": meta.get("forked_step")}
            if origin is not None
            else {}
        )
        with self._lock:
            self._known[job_id] = found
            while len(self._known) > self._size:
                self._known.popitem(last=False)
        return found

    def __call__(self, snapshot: Snapshot) -> Snapshot:
        """``snapshot`` with each job summary extended by its lineage (a copy if any)."""
        jobs = snapshot.get("jobs")
        if not jobs:
            return snapshot
        extended = {jid: {**view, **self.of(jid)} for jid, view in jobs.items()}
        return cast("Snapshot", {**snapshot, "jobs": extended})
