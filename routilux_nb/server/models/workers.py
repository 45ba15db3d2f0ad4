"""Models of the worker routes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .base import RequestModel, ResponseModel, id_field, partial

__all__ = [
    "WORKER_FIELDS",
    "WorkerCreateRequest",
    "WorkerListResponse",
    "WorkerResponse",
    "WorkerStatus",
    "WorkerView",
]

WorkerStatus = Literal["running", "paused", "stopped"]

#: the fields ``?fields=`` may name (a field the worker lacks comes back null)
WORKER_FIELDS = (
    "worker_id",
    "flow_id",
    "status",
    "created_at",
    "started_at",
    "completed_at",
    "jobs_processed",
    "jobs_failed",
    "error",
    "error_traceback",
    "active_jobs",
    "pending_tasks",
    "max_active_jobs",
    "pending_jobs",
    "pause_points",
    "routine_states",
    "execution_history",
    "deferred_events",
    "_links",
)


class WorkerCreateRequest(RequestModel):
    flow_id: str = id_field()
    worker_id: str | None = id_field(None, "default: generated")


class WorkerResponse(ResponseModel):
    worker_id: str
    flow_id: str
    status: WorkerStatus
    created_at: str
    started_at: str | None = None
    completed_at: str | None = None
    jobs_processed: int
    jobs_failed: int
    error: str | None = None
    error_traceback: str | None = None
    routine_states: dict[str, dict[str, Any]] | None = Field(
        None, description="per routine, when monitored"
    )
    execution_history: list[dict[str, Any]] | None = Field(
        None, description="the latest execution records"
    )
    deferred_events: list[dict[str, str]] | None = Field(
        None, description="routines held by a pause"
    )
    max_active_jobs: int | None = Field(
        None, description="jobs run at once (null: no limit); more wait pending"
    )
    pending_jobs: int | None = Field(None, description="jobs waiting for admission")


class WorkerListResponse(ResponseModel):
    workers: list[WorkerResponse]
    total: int
    limit: int
    offset: int


WorkerView = partial(WorkerResponse)
