"""Models of the breakpoint and debugging routes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, StrictBool, model_validator

from .base import EnabledRequest, JsonValue, RequestModel, ResponseModel

__all__ = [
    "BreakpointCreateRequest",
    "BreakpointListResponse",
    "BreakpointResponse",
    "BreakpointType",
    "BreakpointUpdateRequest",
    "DebugActionResponse",
    "DebugVariableRequest",
    "GlobalBreakpointCreateRequest",
]

BreakpointType = Literal["routine", "slot", "event", "connection"]

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


class BreakpointCreateRequest(RequestModel):
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


class BreakpointResponse(ResponseModel):
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


class BreakpointListResponse(ResponseModel):
    breakpoints: list[BreakpointResponse]
    total: int


class DebugVariableRequest(RequestModel):
    name: str = Field(min_length=1, max_length=1000, examples=["payload.input.0.value"])
    value: JsonValue = None


class DebugActionResponse(ResponseModel):
    job_id: str
    action: str
    status: str
    location: dict[str, Any] | None = None
