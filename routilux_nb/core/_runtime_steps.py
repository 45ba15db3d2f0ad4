"""The step side of :class:`~routilux_nb.core.runtime.Runtime`: fork and compare jobs by id,
live or stored (see :mod:`routilux_nb.core.forking`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .forking import fork_job, resolve_step
from .job import JobContext
from .steps import StepLog

if TYPE_CHECKING:
    from .compare import Comparison
    from .extensions import JobStore
    from .flow import Flow

__all__ = ["RuntimeSteps"]


class RuntimeSteps:
    """Step methods of the runtime (a mixin)."""

    if TYPE_CHECKING:
        store: JobStore | None

        def get_job(self, job_id: str) -> JobContext: ...

    def _job(self, job: Any) -> Any:
        return self.get_job(job) if isinstance(job, str) else job

    def step_log(self, job: JobContext | str) -> StepLog | None:
        """The recorded steps of a job (by id or object): live, or read back from the store
        (``None`` when none were recorded or kept)."""
        found = self._job(job)
        if isinstance(found, JobContext):
            return found.step_log
        load = getattr(self.store, "load_steps", None)
        return None if load is None else load(found.job_id)

    def fork(
        self,
        job: JobContext | str,
        step: Any = None,
        *,
        seq: int | None = None,
        inputs: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        job_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        flow: Flow | str | None = None,
    ) -> JobContext:
        """``job.fork(step, ...)`` for a job given by id or object, live or stored: after a
        restart on the same store file, a finished job's steps are read back from it."""
        job = self._job(job)
        found = resolve_step(job, self.step_log(job), step, seq)
        return fork_job(
            self,  # type: ignore[arg-type]
            job,
            found,
            inputs=inputs,
            data=data,
            job_id=job_id,
            metadata=metadata,
            flow=flow,
        )

    def compare(self, job_a: JobContext | str, job_b: JobContext | str) -> Comparison:
        """What differs between two jobs, by id or object (see :mod:`routilux_nb.core.compare`)."""
        from .compare import compare

        return compare(self._job(job_a), self._job(job_b))
