"""Models of the flow routes."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, StrictBool

from .base import JsonObject, RequestModel, ResponseModel, id_field, partial

__all__ = [
    "FLOW_FIELDS",
    "ConnectionRequest",
    "FlowCreateRequest",
    "FlowExecuteRequest",
    "FlowListResponse",
    "FlowResponse",
    "FlowView",
    "RoutineAddRequest",
]

#: the fields ``?fields=`` may name (a field the flow lacks comes back null)
FLOW_FIELDS = ("flow_id", "routines", "connections", "execution_timeout", "error_handler", "_links")


class FlowCreateRequest(RequestModel):
    """Give ``flow_id`` (an empty flow), or ``dsl`` or ``dsl_dict`` (not both)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "anyOf": [{"required": ["flow_id"]}, {"required": ["dsl"]}, {"required": ["dsl_dict"]}],
            "not": {"required": ["dsl", "dsl_dict"]},
        },
    )
    flow_id: str = id_field(None, "the flow's id (required unless the DSL names it)")
    dsl: str = Field(
        None,
        min_length=1,
        max_length=100_000,  # type: ignore[assignment]
        description="YAML or JSON flow definition",
    )
    dsl_dict: JsonObject = Field(None, description="the flow definition as an object")  # type: ignore[arg-type]


class FlowResponse(ResponseModel):
    flow_id: str
    routines: dict[str, dict[str, Any]]
    connections: list[dict[str, Any]]
    execution_timeout: float | None = None
    error_handler: dict[str, Any] | None = None


class FlowListResponse(ResponseModel):
    flows: list[FlowResponse]
    total: int


class RoutineAddRequest(RequestModel):
    routine_id: str = id_field()
    object_name: str = Field(
        min_length=1, max_length=256, description="a registered routine class name"
    )
    config: JsonObject = Field(default_factory=dict)


class ConnectionRequest(RequestModel):
    source_routine: str = id_field()
    source_event: str = id_field()
    target_routine: str = id_field()
    target_slot: str = id_field()


class FlowExecuteRequest(RequestModel):
    routine_id: str | None = id_field(None, "entry routine (default: the only one)")
    slot_name: str | None = Field(None, min_length=1, max_length=256)
    data: JsonObject | None = None
    worker_id: str | None = id_field(None, "default: the flow's running worker")
    job_id: str | None = id_field(None, "default: generated")
    metadata: JsonObject | None = None
    wait: StrictBool = Field(
        False, description="answer once the job has finished (or timeout passed)"
    )
    timeout: float = Field(60.0, ge=0, le=3600, description="seconds to wait when wait is true")
    flow_version: int | None = Field(
        None, ge=1, le=2**31, description="run this version of the flow (default: the current one)"
    )


FlowView = partial(FlowResponse)
