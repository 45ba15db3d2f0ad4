"""Flows: create (from the DSL, never evaluated), inspect, edit, validate, export and execute."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from routilux_nb.core import dsl
from routilux_nb.core.errors import UnknownEventError, UnknownSlotError
from routilux_nb.core.flow import Flow
from routilux_nb.core.registry import registry

from ..deps import (
    api_base,
    fields_query,
    flow_path,
    get_runtime,
    links_for_flow,
    monitor_of,
    routine_or_404,
    select_fields,
)
from ..errors import ApiError, ApiJSONResponse, respond, unknown_reference
from ..models import (
    FLOW_FIELDS,
    ConnectionRequest,
    FlowCreateRequest,
    FlowExecuteRequest,
    FlowListResponse,
    FlowResponse,
    FlowView,
    JobResponse,
    JobSubmitRequest,
    RoutineAddRequest,
)
from .jobs import job_dict, submit_job, wait_for

FIELDS = fields_query(FLOW_FIELDS)

__all__ = ["load_dsl", "router"]

router = APIRouter(tags=["flows"])
_R = ApiJSONResponse


def load_dsl(text: str | None, spec: Mapping[str, Any] | None, flow_id: str | None) -> Flow:
    """A flow from DSL text (YAML or JSON), a DSL dict, or nothing (an empty flow)."""
    if text is not None and spec is not None:
        raise ApiError(422, "VALIDATION_ERROR", "give either dsl or dsl_dict, not both")
    if text is None and spec is None:
        if flow_id is None:
            raise ApiError(
                422,
                "VALIDATION_ERROR",
                "give flow_id (and optionally dsl or dsl_dict)",
                {"errors": [{"field": "flow_id", "message": "Field required", "type": "missing"}]},
            )
        return Flow(flow_id)
    if text is not None:
        flow = dsl.load(text)  # bounded: depth, expanded size (aliases), text (core.limits)
    else:
        assert spec is not None
        spec = dict(spec)
        if flow_id is not None:
            spec.setdefault("flow_id", flow_id)
        flow = dsl.flow_from_dict(spec)
    if flow_id is not None and flow.flow_id != flow_id:
        raise ApiError(
            422,
            "VALIDATION_ERROR",
            f"flow_id {flow_id!r} differs from the DSL's flow_id {flow.flow_id!r}",
            {"flow_id": flow_id, "dsl_flow_id": flow.flow_id},
        )
    _check_writable(flow)
    return flow


def _check_writable(flow: Flow) -> None:
    """Refuse a flow whose description cannot be written back as strict JSON (so nothing is
    registered that a later read could not show)."""
    try:
        for doc in (flow.describe(), dsl.flow_to_dict(flow)):
            json.dumps(doc, allow_nan=False, default=_unwritable).encode("utf-8")
    except (TypeError, ValueError, RecursionError, OverflowError) as exc:
        raise ApiError(
            422,
            "INVALID_DSL",
            f"the flow cannot be written back as JSON: {exc}",
            {"flow_id": flow.flow_id},
        ) from None


def _unwritable(obj: Any) -> Any:
    raise TypeError(f"a {type(obj).__name__} value")


def _flow_dict(base: str, flow: Flow) -> dict[str, Any]:
    d = flow.describe()
    d["_links"] = links_for_flow(base, flow)
    return d


@router.get(
    "/flows", response_class=_R, responses={200: {"model": FlowListResponse}}, summary="List flows"
)
async def list_flows(request: Request) -> ApiJSONResponse:
    base = api_base(request)
    flows = [_flow_dict(base, f) for f in list(get_runtime(request).flows.values())]
    return respond({"flows": flows, "total": len(flows)})


@router.post(
    "/flows",
    status_code=201,
    response_class=_R,
    responses={201: {"model": FlowResponse}},
    summary="Create a flow",
)
def create_flow(request: Request, body: FlowCreateRequest) -> ApiJSONResponse:
    """From ``dsl`` (YAML or JSON text), ``dsl_dict``, or empty. Class names resolve through the
    routine registry only: nothing is imported or evaluated."""
    rt = get_runtime(request)
    flow = load_dsl(body.dsl, body.dsl_dict, body.flow_id)
    if flow.flow_id in rt.flows:
        raise ApiError(
            409,
            "FLOW_ALREADY_EXISTS",
            f"Flow {flow.flow_id!r} already exists",
            {"flow_id": flow.flow_id},
        )
    rt.register_flow(flow)
    return respond(_flow_dict(api_base(request), flow), 201)


@router.get(
    "/flows/{flow_id}",
    response_class=_R,
    responses={200: {"model": FlowView}},
    summary="Get a flow",
)
async def get_flow(
    request: Request, *, flow: Flow = Depends(flow_path), fields: str | None = FIELDS
) -> ApiJSONResponse:
    return respond(select_fields(_flow_dict(api_base(request), flow), fields))


@router.delete("/flows/{flow_id}", status_code=204, summary="Delete a flow (its workers stop)")
def delete_flow(request: Request, *, flow: Flow = Depends(flow_path)) -> Response:
    rt = get_runtime(request)
    rt.remove_flow(flow.flow_id)
    return Response(status_code=204)


@router.get("/flows/{flow_id}/metrics", response_class=_R, summary="Flow metrics")
async def flow_metrics(request: Request, *, flow: Flow = Depends(flow_path)) -> ApiJSONResponse:
    rt = get_runtime(request)
    return respond(monitor_of(rt).flow_metrics(flow.flow_id))


@router.get("/flows/{flow_id}/routines", response_class=_R, summary="Routines of a flow")
async def flow_routines(request: Request, *, flow: Flow = Depends(flow_path)) -> ApiJSONResponse:
    return respond({rid: r.describe() for rid, r in list(flow.routines.items())})


@router.get(
    "/flows/{flow_id}/routines/{routine_id}/info", response_class=_R, summary="Routine info"
)
async def routine_info(
    request: Request, *, flow: Flow = Depends(flow_path), routine_id: str
) -> ApiJSONResponse:
    return respond(routine_or_404(flow, routine_id).info())


@router.get("/flows/{flow_id}/connections", response_class=_R, summary="Connections of a flow")
async def flow_connections(request: Request, *, flow: Flow = Depends(flow_path)) -> ApiJSONResponse:
    return respond([c.to_dict(i) for i, c in enumerate(list(flow.connections))])


@router.post("/flows/{flow_id}/routines", response_class=_R, summary="Add a routine to a flow")
def add_routine(
    request: Request, *, flow: Flow = Depends(flow_path), body: RoutineAddRequest
) -> ApiJSONResponse:
    """``object_name`` is a registered routine class name (``GET`` the 422 to see them all)."""
    if body.routine_id in flow.routines:
        raise ApiError(
            409,
            "ROUTINE_ALREADY_EXISTS",
            f"flow {flow.flow_id!r} already has a routine {body.routine_id!r}",
            {"flow_id": flow.flow_id, "routine_id": body.routine_id},
        )
    if body.object_name not in registry:
        names = registry.names()
        raise ApiError(
            409,
            "UNKNOWN_REFERENCE",
            f"no routine class registered as {body.object_name!r}; registered: {', '.join(names)}",
            {"object_name": body.object_name, "registered": names},
        )
    routine = registry.create(
        body.object_name, routine_id=body.routine_id, config=dict(body.config)
    )
    flow.add_routine(routine, body.routine_id)
    return respond({"routine_id": body.routine_id, "status": "added"})


@router.delete(
    "/flows/{flow_id}/routines/{routine_id}",
    status_code=204,
    summary="Remove a routine and its connections",
)
def remove_routine(
    request: Request, *, flow: Flow = Depends(flow_path), routine_id: str
) -> Response:
    routine_or_404(flow, routine_id)
    flow.remove_routine(routine_id)
    return Response(status_code=204)


@router.post(
    "/flows/{flow_id}/connections", response_class=_R, summary="Connect an event to a slot"
)
def add_connection(
    request: Request, *, flow: Flow = Depends(flow_path), body: ConnectionRequest
) -> ApiJSONResponse:
    """Routines, events and slots the flow lacks are a 409 ``UNKNOWN_REFERENCE`` naming what exists."""
    try:
        routine_or_404(flow, body.source_routine)
        routine_or_404(flow, body.target_routine)
        conn = flow.connect(
            body.source_routine, body.target_routine, body.source_event, body.target_slot
        )
    except ApiError as exc:
        raise unknown_reference(exc.message, exc.details) from None
    except (UnknownEventError, UnknownSlotError) as exc:
        raise unknown_reference(str(exc), {"routine_id": exc.routine_id}) from None
    index = len(flow.connections) - 1
    for i, c in enumerate(list(flow.connections)):
        if c is conn:
            index = i
    return respond({"status": "connected", "connection": conn.to_dict(index)})


@router.delete(
    "/flows/{flow_id}/connections/{connection_index}",
    status_code=204,
    summary="Remove a connection (by index or conn_<index>)",
)
def remove_connection(
    request: Request, *, flow: Flow = Depends(flow_path), connection_index: str
) -> Response:
    raw = connection_index.removeprefix("conn_")
    count = len(flow.connections)
    if not raw.isdigit() or int(raw) >= count:
        raise ApiError(
            404,
            "CONNECTION_NOT_FOUND",
            f"flow {flow.flow_id!r} has no connection {connection_index!r}; "
            + (f"indexes 0..{count - 1}" if count else "it has no connections"),
            {"flow_id": flow.flow_id, "connection_index": connection_index, "count": count},
        )
    flow.disconnect(int(raw))
    return Response(status_code=204)


@router.post("/flows/{flow_id}/validate", response_class=_R, summary="Validate a flow")
def validate_flow(request: Request, *, flow: Flow = Depends(flow_path)) -> ApiJSONResponse:
    return respond(flow.validate().to_dict())


@router.get("/flows/{flow_id}/dsl", response_class=_R, summary="Export a flow as YAML or JSON")
async def export_dsl(
    request: Request,
    *,
    flow: Flow = Depends(flow_path),
    format: Literal["yaml", "json"] = Query("yaml", description="yaml or json"),
) -> ApiJSONResponse:
    return respond(
        {"format": format, "dsl": flow.to_yaml() if format == "yaml" else flow.to_json()}
    )


@router.post(
    "/flows/{flow_id}/execute",
    status_code=201,
    response_class=_R,
    responses={201: {"model": JobResponse}},
    summary="Execute a flow (submit a job)",
)
async def execute_flow(
    request: Request, *, flow: Flow = Depends(flow_path), body: FlowExecuteRequest | None = None
) -> ApiJSONResponse:
    """Submit a job to the flow; with ``wait`` answer once it finished (``timed_out`` says if not)."""
    rt = get_runtime(request)
    body = body or FlowExecuteRequest.model_validate({})
    fields = {
        "flow_id": flow.flow_id,
        "routine_id": body.routine_id,
        "slot_name": body.slot_name,
        "data": body.data,
        "worker_id": body.worker_id,
        "job_id": body.job_id,
        "metadata": body.metadata,
        "flow_version": body.flow_version,
    }
    req = JobSubmitRequest.model_validate({k: v for k, v in fields.items() if v is not None})
    job = await submit_job(rt, req)
    out: dict[str, Any]
    if body.wait:
        t0 = time.monotonic()
        finished = await wait_for(job, body.timeout)
        out = job_dict(api_base(request), job)
        out.update(timed_out=not finished, waited_seconds=round(time.monotonic() - t0, 6))
    else:
        out = job_dict(api_base(request), job, include_data=False)
    return respond(out, 201)
