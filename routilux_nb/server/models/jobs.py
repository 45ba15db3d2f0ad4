"""Models of the job routes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from .base import JsonObject, RequestModel, ResponseModel, id_field, partial

__all__ = [
    "JOB_FIELDS",
    "BulkJobsRequest",
    "BulkJobsResponse",
    "CancelRequest",
    "FailRequest",
    "JobListResponse",
    "JobResponse",
    "JobStatus",
    "JobSubmitRequest",
    "JobView",
    "WaitResponse",
]

JobStatus = Literal["pending", "running", "paused", "completed", "failed", "cancelled"]

#: the fields ``?fields=`` may name (a field the job lacks comes back null)
JOB_FIELDS = (
    "job_id",
    "worker_id",
    "flow_id",
    "status",
    "created_at",
    "started_at",
    "completed_at",
    "metadata",
    "error",
    "data",
    "error_traceback",
    "cancelled_at",
    "cancel_reason",
    "flow_version",
    "_links",
)


class JobSubmitRequest(RequestModel):
    """Name the flow (``flow_id``) or a running worker (``worker_id``), or both."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"anyOf": [{"required": ["flow_id"]}, {"required": ["worker_id"]}]},
    )
    flow_id: str = id_field(None, "flow to run (may be left out when worker_id is given)")
    routine_id: str | None = id_field(None, "entry routine (default: the only one)")
    slot_name: str | None = Field(
        None, min_length=1, max_length=256, description="entry slot (default: the only one)"
    )
    data: JsonObject | None = None
    worker_id: str = id_field(None, "default: the flow's running worker")
    job_id: str | None = id_field(None, "default: generated")
    metadata: JsonObject | None = None
    timeout: float | None = Field(
        None, gt=0, le=86_400, description="fail the job after this many seconds"
    )
    flow_version: int | None = Field(
        None,
        ge=1,
        le=2**31,
        description="run this version of the flow (GET /flows/{flow_id}/versions); default: the "
        "current one. An unknown version is a 404 naming the versions there are",
    )


class JobResponse(ResponseModel):
    job_id: str
    worker_id: str
    flow_id: str
    status: JobStatus
    created_at: str
    started_at: str | None = None
    completed_at: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    data: dict[str, Any] | None = None
    error: str | None = None
    cancelled_at: str | None = None
    cancel_reason: str | None = None
    flow_version: int | None = Field(None, ge=1, description="the version of the flow the job runs")
    links: dict[str, str] | None = Field(None, alias="_links")


class JobListResponse(ResponseModel):
    jobs: list[JobResponse]
    total: int = Field(description="matching jobs; a lower bound when total_relation is 'gte'")
    total_relation: Literal["eq", "gte"] = Field(
        "eq",
        description="'eq': total is exact; 'gte': there are total matching jobs or more (a "
        "filter by creation time or worker counts up to 10,000 matches, or just past the page)",
    )
    has_more: bool = Field(False, description="whether more matching jobs follow this page")
    limit: int
    offset: int


class BulkJobsRequest(RequestModel):
    jobs: list[dict[str, Any]] = Field(
        max_length=1000, description="items shaped like JobSubmitRequest"
    )


class BulkJobsResponse(ResponseModel):
    jobs: list[dict[str, Any]] = Field(
        description="created jobs, or {index, error} for refused items"
    )
    total: int
    created: int
    failed: int


class CancelRequest(RequestModel):
    reason: str | None = Field(None, max_length=10_000)


class FailRequest(RequestModel):
    error: str = Field(min_length=1, max_length=100_000)


class WaitResponse(ResponseModel):
    status: str = Field(description="the final status, or 'timeout'")
    job_id: str
    final_status: str
    waited_seconds: float


JobView = partial(JobResponse)
