"""Response models of the stored things: artifacts, flow versions, the job store's health.

Like :mod:`routilux_nb.server.models`, responses may carry more fields than listed; the
response contract test checks these against real answers.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .models import FlowResponse

__all__ = [
    "ARTIFACT_CONTENT_TYPES",
    "ArtifactDeleteResponse",
    "ArtifactListResponse",
    "ArtifactResponse",
    "DatabaseStatusResponse",
    "FlowUpdateResponse",
    "FlowVersionListResponse",
    "FlowVersionResponse",
    "SystemMetricsResponse",
]

#: what ``GET /artifacts/{id}/download`` may answer (the content type the artifact was stored with)
ARTIFACT_CONTENT_TYPES = (
    "application/octet-stream",
    "text/plain; charset=utf-8",
    "application/json",
    "text/csv; charset=utf-8",
    "image/png",
)


class _Response(BaseModel):
    model_config = ConfigDict(extra="allow")


# -- artifacts --------------------------------------------------------------------------
class ArtifactLinks(_Response):
    self: str
    download: str


class ArtifactResponse(_Response):
    artifact_id: str = Field(description="32 lowercase hex digits")
    job_id: str
    name: str = Field(description="the name the routine gave")
    kind: str = Field(description="text, bytes, json, file, dataframe or figure")
    content_type: str
    filename: str = Field(description="the file name a download suggests")
    size: int = Field(ge=0, description="bytes")
    created_at: str
    routine_id: str | None = None
    links: ArtifactLinks = Field(alias="_links")


class ArtifactListResponse(_Response):
    job_id: str
    artifacts: list[ArtifactResponse] = Field(description="oldest first")
    total: int


class ArtifactDeleteResponse(_Response):
    deleted: Literal[True]
    artifact_id: str
    job_id: str


# -- flow versions ----------------------------------------------------------------------
class FlowVersionResponse(_Response):
    flow_id: str
    version: int = Field(ge=1)
    created_at: str
    digest: str = Field(description="changes when the definition (or a routine's code) changes")
    dsl: str = Field(description="the definition as YAML")
    definition: dict[str, Any]


class FlowVersionListResponse(_Response):
    flow_id: str
    items: list[FlowVersionResponse] = Field(description="newest first")
    total: int
    limit: int
    offset: int


# -- health of the store ----------------------------------------------------------------
class StoreStatus(_Response):
    kind: str = Field(description="'none' without a store, else the store's class name")
    message: str | None = None
    jobs_in_memory: int | None = None
    jobs: int | None = None
    path: str | None = None
    database_size_bytes: int | None = None
    wal_mode: bool | None = None
    writer: dict[str, Any] | None = Field(None, description="write-through counts, errors and lag")
    error: str | None = None


class DatabaseStatusResponse(_Response):
    status: Literal["healthy", "degraded", "unhealthy"]
    timestamp: str
    store: StoreStatus


class ProcessStatus(_Response):
    pid: int
    threads: int


class SystemMetricsResponse(_Response):
    timestamp: str
    uptime_seconds: float
    system: dict[str, Any] = Field(description="CPU, memory and disk figures")
    process: ProcessStatus


class FlowUpdateResponse(FlowResponse):
    version: int | None = Field(None, ge=1, description="the flow's current version")
