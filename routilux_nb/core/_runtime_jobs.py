"""The job-reading side of :class:`~routilux_nb.core.runtime.Runtime`: look up, list, page,
retry and wait for jobs (the state lives in :class:`~routilux_nb.core._jobtable.JobTable`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .job import FINISHED, JobContext

if TYPE_CHECKING:
    from ._jobtable import JobTable
    from .flow import Flow
    from .worker import Worker

__all__ = ["RuntimeJobs"]


class RuntimeJobs:
    """Job methods of the runtime (a mixin: the runtime owns ``_table``)."""

    _table: JobTable

    if TYPE_CHECKING:

        @property
        def flows(self) -> dict[str, Flow]: ...

        def worker_for(self, flow: Flow | str) -> Worker: ...

    def _check_new_job_id(self, job_id: str) -> None:
        self._table.check_new(job_id)

    def get_job(self, job_id: str) -> JobContext:
        """A job in memory, or (read-only) from the store; ``KeyError`` naming it otherwise."""
        job = self._table.get(job_id)
        bind = getattr(job, "bind_runtime", None)  # a stored job: its steps and forks need us
        if bind is not None:
            bind(self)
        return job

    def jobs(
        self,
        *,
        flow_id: str | None = None,
        worker_id: str | None = None,
        status: str | Iterable[str] | None = None,
    ) -> list[JobContext]:
        """Jobs in memory, newest first, filtered."""
        return self._table.select(flow_id=flow_id, worker_id=worker_id, status=status)

    def list_jobs(
        self,
        *,
        flow_id: str | None = None,
        worker_id: str | None = None,
        status: str | Iterable[str] | None = None,
        limit: int = 100,
        offset: int = 0,
        created_after: float | None = None,
        created_before: float | None = None,
        sort_by: str = "created_at",
        order: str = "desc",
    ) -> tuple[list[Any], int]:
        """One page of jobs and the total matching: what ``GET /jobs`` serves (see
        :meth:`JobTable.page <routilux_nb.core._jobtable.JobTable.page>`)."""
        return self._table.page(
            flow_id=flow_id,
            worker_id=worker_id,
            status=status,
            limit=limit,
            offset=offset,
            created_after=created_after,
            created_before=created_before,
            sort_by=sort_by,
            order=order,
        )

    def retry_job(self, job_id: str, *, new_job_id: str | None = None) -> JobContext:
        """Retry a failed or cancelled job, live or stored (e.g. one a dead process left
        ``interrupted``): a live job from its failed step (``job.retry()``), a stored one from
        its entry with the payload it was submitted with, on the flow's running worker."""
        job = self.get_job(job_id)
        if isinstance(job, JobContext):
            return job.retry(job_id=new_job_id)
        routine_id, slot_name, data = self._table.stored_entry(job, known_flows=self.flows)
        return self.worker_for(job.flow_id).submit(
            routine_id,
            slot_name,
            data,
            job_id=new_job_id,
            metadata={**job.metadata, "retry_of": job_id},
        )

    def wait_all(self, timeout: float | None = 60.0) -> None:
        """Wait until every unfinished job has finished."""
        for job in self.jobs():
            if job.status not in FINISHED:
                job.wait(timeout)
