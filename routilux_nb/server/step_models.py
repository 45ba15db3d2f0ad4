"""Request and response models of the step routes (:mod:`.routes.steps`): recorded steps,
forks and comparisons of jobs."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .models import ErrorResponse, JsonObject, JsonValue
from .models.base import id_field

__all__ = [
    "CompareResponse",
    "Difference",
    "ForkRequest",
    "StepDetail",
    "StepListResponse",
    "StepSummary",
]


class StepSummary(BaseModel):
    """One recorded activation (the columns of ``job.steps``)."""

    model_config = ConfigDict(extra="allow")

    step: int = Field(description="the activation id: what POST /jobs/{id}/fork takes as step")
    seq: int | None = Field(description="seq of the activation's routine_start trace record")
    routine: str
    attempt: int
    started_at: str = Field(description="ISO 8601 with timezone")
    duration: float | None = Field(description="seconds; null while running")
    status: Literal["running", "completed", "failed"]
    input_items: int
    input_bytes: int = Field(description="estimated size of the inputs")
    data_bytes: int = Field(description="estimated size of the job data at the start")
    error: str | None
    shared: bool = Field(description="something could not be copied and was kept by reference")


class StepDetail(StepSummary):
    """A step with what it started with: the items per slot and the job's data."""

    inputs: dict[str, list[Any]] = Field(description="slot name -> items that slot delivered")
    data: dict[str, Any] = Field(description="the job's data when the activation started")


class StepListResponse(BaseModel):
    job_id: str
    steps: list[StepSummary]
    total: int = Field(description="steps kept (past the cap the oldest are dropped)")
    dropped: int = Field(description="steps dropped past the cap")
    dropped_bytes: int
    max_steps: int
    max_bytes: int


class ForkRequest(BaseModel):
    """Where to fork from (``step`` or ``seq``; neither: a failed job's failed step) and what to
    start with instead of the recording."""

    model_config = ConfigDict(extra="forbid")

    step: int | None = Field(None, description="activation id (from GET /jobs/{id}/steps)")
    seq: int | None = Field(None, description="any trace seq of the step's activation")
    inputs: dict[str, list[JsonObject]] | None = Field(
        None, description="slot name -> items to deliver instead of the recorded ones"
    )
    data: JsonObject | None = Field(None, description="the new job's data instead of the recorded")
    job_id: str | None = id_field(None, "id of the new job (default: a generated one)")
    metadata: JsonObject | None = None


class Difference(BaseModel):
    kind: Literal["activations", "emitted", "data"]
    routine: str | None
    key: str | None = Field(description="event name (emitted) or data key (data)")
    index: int | None = Field(description="position of the first differing emitted payload")
    a: JsonValue = Field(description="the value in job a (null when missing there)")
    b: JsonValue = Field(description="the value in job b (null when missing there)")
    status: Literal["differs", "only_a", "only_b"]


class CompareResponse(BaseModel):
    job_a: str
    job_b: str
    identical: bool
    differences: list[Difference]
    notes: list[str] = Field(description="what could not be compared, and why")


#: the errors of the step routes, as OpenAPI documents them
STEP_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {
        "model": ErrorResponse,
        "description": "JOB_NOT_FOUND, or STEP_NOT_FOUND (the message names the steps kept)",
    },
    409: {
        "model": ErrorResponse,
        "description": "STEP_DROPPED (dropped past the recording cap; the message says which "
        "cap to raise), STEPS_NOT_RECORDED (the runtime records no steps), WORKER_NOT_RUNNING",
    },
    422: {
        "model": ErrorResponse,
        "description": "VALIDATION_ERROR: inputs or data that cannot be delivered (unknown slot, "
        "an item that is not an object, no items)",
    },
}
