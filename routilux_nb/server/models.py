"""Request and response models of the REST API (field names as the specification spells them).

Requests forbid unknown fields, so a typo is answered with a 422 naming it. Responses are
documented with these models and may carry more fields than listed. Timestamps are ISO 8601
strings with a timezone.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    create_model,
    model_validator,
)

from routilux_nb.core.ids import ID_MAX_LENGTH
from routilux_nb.core.limits import Limits, check_value

__all__ = [
    "BreakpointCreateRequest",
    "BreakpointListResponse",
    "BreakpointResponse",
    "BreakpointUpdateRequest",
    "BulkJobsRequest",
    "BulkJobsResponse",
    "ERROR_RESPONSES",
    "FLOW_FIELDS",
    "JOB_FIELDS",
    "WORKER_FIELDS",
    "CancelRequest",
    "ConnectionRequest",
    "DebugActionResponse",
    "DebugVariableRequest",
    "ErrorResponse",
    "fields_pattern",
    "FailRequest",
    "FlowCreateRequest",
    "FlowExecuteRequest",
    "FlowListResponse",
    "FlowResponse",
    "JobListResponse",
    "JobResponse",
    "JobSubmitRequest",
    "RoutineAddRequest",
    "WaitResponse",
    "WorkerCreateRequest",
    "WorkerListResponse",
    "WorkerResponse",
]

JobStatus = Literal["pending", "running", "paused", "completed", "failed", "cancelled"]
WorkerStatus = Literal["running", "paused", "stopped"]
BreakpointType = Literal["routine", "slot", "event", "connection"]


#: the id rule of :mod:`routilux_nb.core.ids`, as the schema states it
ID_REGEX = r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$"
#: bounds of every free-form JSON value of a request (job data, metadata, configs, values)
BODY_LIMITS = Limits(max_depth=32, max_nodes=100_000, max_chars=1_000_000)


def _bounded(value: Any) -> Any:
    return check_value(value, BODY_LIMITS, "value")


#: a JSON object whose depth and size are bounded when the request is parsed
JsonObject = Annotated[dict[str, Any], AfterValidator(_bounded)]
#: any JSON value, bounded the same way
JsonValue = Annotated[Any, AfterValidator(_bounded)]


def _id(default: Any = ..., description: str | None = None) -> Any:
    """A new object's id: 1-128 characters from ``A-Z a-z 0-9 _ . -``, not starting with . or -."""
    return Field(
        default, min_length=1, max_length=ID_MAX_LENGTH, pattern=ID_REGEX, description=description
    )


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Response(BaseModel):
    model_config = ConfigDict(extra="allow")


# -- errors -----------------------------------------------------------------------------
class ErrorBody(BaseModel):
    code: str = Field(examples=["JOB_NOT_FOUND"])
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorResponse(BaseModel):
    error: ErrorBody


_ERROR_DESCRIPTIONS = {
    400: "Malformed request (e.g. a body that is not JSON)",
    401: "Missing or wrong X-API-Key",
    403: "Cross-site request from an origin not allowed",
    404: "Unknown id, or a reference to something that does not exist",
    405: "Method not allowed on this path (see the Allow header)",
    409: "The operation does not fit the current state",
    413: "Request body too large",
    415: "State-changing request whose body is not JSON",
    421: "Host not served here",
    422: "Invalid input (the message names the field and what is expected)",
    500: "Internal error (an engine bug, logged with its traceback)",
    503: "Full: retry after the Retry-After header's seconds",
}
#: the error statuses every operation may answer, all with the error envelope
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in _ERROR_DESCRIPTIONS.items()
}

#: the fields ``?fields=`` may name, per resource (a field the object lacks comes back null)
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
    "pause_points",
    "routine_states",
    "execution_history",
    "deferred_events",
    "_links",
)
FLOW_FIELDS = ("flow_id", "routines", "connections", "execution_timeout", "error_handler", "_links")


def fields_pattern(names: tuple[str, ...]) -> str:
    """The regular expression of a comma separated list of ``names``."""
    one = "(?:" + "|".join(names) + ")"
    return f"^{one}(?:,{one})*$"


# -- jobs -------------------------------------------------------------------------------
class JobSubmitRequest(_Request):
    """Name the flow (``flow_id``) or a running worker (``worker_id``), or both."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"anyOf": [{"required": ["flow_id"]}, {"required": ["worker_id"]}]},
    )
    flow_id: str = _id(None, "flow to run (may be left out when worker_id is given)")
    routine_id: str | None = _id(None, "entry routine (default: the only one)")
    slot_name: str | None = Field(
        None, min_length=1, max_length=256, description="entry slot (default: the only one)"
    )
    data: JsonObject | None = None
    worker_id: str = _id(None, "default: the flow's running worker")
    job_id: str | None = _id(None, "default: generated")
    metadata: JsonObject | None = None
    timeout: float | None = Field(
        None, gt=0, le=86_400, description="fail the job after this many seconds"
    )


class JobResponse(_Response):
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


class JobListResponse(_Response):
    jobs: list[JobResponse]
    total: int
    limit: int
    offset: int


class BulkJobsRequest(_Request):
    jobs: list[dict[str, Any]] = Field(
        max_length=1000, description="items shaped like JobSubmitRequest"
    )


class BulkJobsResponse(_Response):
    jobs: list[dict[str, Any]] = Field(
        description="created jobs, or {index, error} for refused items"
    )
    total: int
    created: int
    failed: int


class CancelRequest(_Request):
    reason: str | None = Field(None, max_length=10_000)


class FailRequest(_Request):
    error: str = Field(min_length=1, max_length=100_000)


class WaitResponse(_Response):
    status: str = Field(description="the final status, or 'timeout'")
    job_id: str
    final_status: str
    waited_seconds: float


# -- workers ----------------------------------------------------------------------------
class WorkerCreateRequest(_Request):
    flow_id: str = _id()
    worker_id: str | None = _id(None, "default: generated")


class WorkerResponse(_Response):
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


class WorkerListResponse(_Response):
    workers: list[WorkerResponse]
    total: int
    limit: int
    offset: int


class EnabledRequest(_Request):
    enabled: StrictBool


# -- flows ------------------------------------------------------------------------------
class FlowCreateRequest(_Request):
    """Give ``flow_id`` (an empty flow), or ``dsl`` or ``dsl_dict`` (not both)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "anyOf": [{"required": ["flow_id"]}, {"required": ["dsl"]}, {"required": ["dsl_dict"]}],
            "not": {"required": ["dsl", "dsl_dict"]},
        },
    )
    flow_id: str = _id(None, "the flow's id (required unless the DSL names it)")
    dsl: str = Field(
        None,
        min_length=1,
        max_length=100_000,  # type: ignore[assignment]
        description="YAML or JSON flow definition",
    )
    dsl_dict: JsonObject = Field(None, description="the flow definition as an object")  # type: ignore[arg-type]


class FlowResponse(_Response):
    flow_id: str
    routines: dict[str, dict[str, Any]]
    connections: list[dict[str, Any]]
    execution_timeout: float | None = None
    error_handler: dict[str, Any] | None = None


class FlowListResponse(_Response):
    flows: list[FlowResponse]
    total: int


class RoutineAddRequest(_Request):
    routine_id: str = _id()
    object_name: str = Field(
        min_length=1, max_length=256, description="a registered routine class name"
    )
    config: JsonObject = Field(default_factory=dict)


class ConnectionRequest(_Request):
    source_routine: str = _id()
    source_event: str = _id()
    target_routine: str = _id()
    target_slot: str = _id()


class FlowExecuteRequest(_Request):
    routine_id: str | None = _id(None, "entry routine (default: the only one)")
    slot_name: str | None = Field(None, min_length=1, max_length=256)
    data: JsonObject | None = None
    worker_id: str | None = _id(None, "default: the flow's running worker")
    job_id: str | None = _id(None, "default: generated")
    metadata: JsonObject | None = None
    wait: StrictBool = Field(
        False, description="answer once the job has finished (or timeout passed)"
    )
    timeout: float = Field(60.0, ge=0, le=3600, description="seconds to wait when wait is true")


# -- breakpoints and debugging ----------------------------------------------------------
_BREAKPOINT_NEEDS: dict[str, Any] = {
    "anyOf": [
        {"properties": {"type": {"const": "routine"}}, "required": ["routine_id"]},
        {"properties": {"type": {"const": "slot"}}, "required": ["routine_id", "slot_name"]},
        {"properties": {"type": {"const": "event"}}, "required": ["routine_id", "event_name"]},
        *(
            {"properties": {"type": {"const": "connection"}}, "required": [name]}
            for name in ("routine_id", "event_name", "target_routine", "slot_name")
        ),
    ]
}


class BreakpointCreateRequest(_Request):
    """``routine`` needs ``routine_id``; ``slot`` also ``slot_name``; ``event`` also ``event_name``;
    ``connection`` one of its source or target fields. Without ``type``: ``slot`` when
    ``slot_name`` is given, else ``routine`` (as the original's clients send it)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_BREAKPOINT_NEEDS)
    type: BreakpointType | None = Field(
        None, description="default: 'slot' when slot_name is given, else 'routine'"
    )
    routine_id: str = Field(None, min_length=1, max_length=256)  # type: ignore[assignment]
    slot_name: str = Field(None, min_length=1, max_length=256)  # type: ignore[assignment]
    event_name: str = Field(None, min_length=1, max_length=256)  # type: ignore[assignment]
    target_routine: str = Field(None, min_length=1, max_length=256)  # type: ignore[assignment]
    condition: str | None = Field(
        None, max_length=1000, description="safe expression, never evaluated as Python"
    )
    enabled: StrictBool = True

    @model_validator(mode="after")
    def _default_type(self) -> BreakpointCreateRequest:
        if self.type is None:
            self.type = "slot" if self.slot_name is not None else "routine"
        return self


class GlobalBreakpointCreateRequest(BreakpointCreateRequest):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_BREAKPOINT_NEEDS)

    job_id: str | None = Field(None, max_length=256)
    worker_id: str | None = Field(None, max_length=256)
    flow_id: str | None = Field(None, max_length=256)


class BreakpointUpdateRequest(EnabledRequest):
    pass


class BreakpointResponse(_Response):
    breakpoint_id: str
    job_id: str | None = None
    worker_id: str | None = None
    flow_id: str | None = None
    type: BreakpointType
    routine_id: str | None = None
    slot_name: str | None = None
    event_name: str | None = None
    target_routine: str | None = None
    condition: str | None = None
    enabled: StrictBool
    hit_count: int
    condition_errors: int = Field(0, description="evaluations of the condition that failed")
    last_condition_error: str | None = Field(None, description="the message of the latest failure")


class BreakpointListResponse(_Response):
    breakpoints: list[BreakpointResponse]
    total: int


class DebugVariableRequest(_Request):
    name: str = Field(min_length=1, max_length=1000, examples=["payload.input.0.value"])
    value: JsonValue = None


class DebugActionResponse(_Response):
    job_id: str
    action: str
    status: str
    location: dict[str, Any] | None = None


def partial(model: type[BaseModel]) -> type[BaseModel]:
    """``model`` with every field optional: the shape of an answer narrowed by ``?fields=``."""
    fields: dict[str, Any] = {
        name: (info.annotation | None, Field(None, alias=info.alias))  # type: ignore[operator]
        for name, info in model.model_fields.items()
    }
    return create_model(f"Partial{model.__name__}", __config__=ConfigDict(extra="allow"), **fields)


JobView = partial(JobResponse)
WorkerView = partial(WorkerResponse)
FlowView = partial(FlowResponse)
