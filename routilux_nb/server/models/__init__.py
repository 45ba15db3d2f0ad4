"""Request and response models of the REST API (field names as the specification spells them).

Requests forbid unknown fields, so a typo is answered with a 422 naming it. Responses are
documented with these models and may carry more fields than listed. Timestamps are ISO 8601
strings with a timezone. One module per resource: :mod:`.jobs`, :mod:`.workers`,
:mod:`.flows`, :mod:`.debug` (breakpoints and debugging); :mod:`.errors` holds the error
envelope, :mod:`.base` the shared building blocks.
"""

from __future__ import annotations

from .base import (
    BODY_LIMITS,
    ID_REGEX,
    EnabledRequest,
    JsonObject,
    JsonValue,
    fields_pattern,
    partial,
)
from .debug import (
    BreakpointCreateRequest,
    BreakpointListResponse,
    BreakpointResponse,
    BreakpointType,
    BreakpointUpdateRequest,
    DebugActionResponse,
    DebugVariableRequest,
    GlobalBreakpointCreateRequest,
)
from .errors import ERROR_RESPONSES, ErrorBody, ErrorResponse
from .flows import (
    FLOW_FIELDS,
    ConnectionRequest,
    FlowCreateRequest,
    FlowExecuteRequest,
    FlowListResponse,
    FlowResponse,
    FlowView,
    RoutineAddRequest,
)
from .jobs import (
    JOB_FIELDS,
    BulkJobsRequest,
    BulkJobsResponse,
    CancelRequest,
    FailRequest,
    JobListResponse,
    JobResponse,
    JobStatus,
    JobSubmitRequest,
    JobView,
    WaitResponse,
)
from .workers import (
    WORKER_FIELDS,
    WorkerCreateRequest,
    WorkerListResponse,
    WorkerResponse,
    WorkerStatus,
    WorkerView,
)

__all__ = [
    "BODY_LIMITS",
    "ERROR_RESPONSES",
    "FLOW_FIELDS",
    "ID_REGEX",
    "JOB_FIELDS",
    "WORKER_FIELDS",
    "BreakpointCreateRequest",
    "BreakpointListResponse",
    "BreakpointResponse",
    "BreakpointType",
    "BreakpointUpdateRequest",
    "BulkJobsRequest",
    "BulkJobsResponse",
    "CancelRequest",
    "ConnectionRequest",
    "DebugActionResponse",
    "DebugVariableRequest",
    "EnabledRequest",
    "ErrorBody",
    "ErrorResponse",
    "FailRequest",
    "FlowCreateRequest",
    "FlowExecuteRequest",
    "FlowListResponse",
    "FlowResponse",
    "FlowView",
    "GlobalBreakpointCreateRequest",
    "JobListResponse",
    "JobResponse",
    "JobStatus",
    "JobSubmitRequest",
    "JobView",
    "JsonObject",
    "JsonValue",
    "RoutineAddRequest",
    "WaitResponse",
    "WorkerCreateRequest",
    "WorkerListResponse",
    "WorkerResponse",
    "WorkerStatus",
    "WorkerView",
    "fields_pattern",
    "partial",
]
