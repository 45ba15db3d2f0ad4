"""Breakpoints: per job (``/jobs/{id}/breakpoints``) and global (``/breakpoints``, scoped by job,
worker or flow). Conditions are run by the safe evaluator, never as Python."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from routilux_nb.core.errors import JobStateError
from routilux_nb.core.expressions import ExpressionError
from routilux_nb.core.job import JobContext
from routilux_nb.core.runtime import Runtime

from ..deps import (
    breakpoint_path,
    flow_or_404,
    get_runtime,
    job_or_404,
    job_path,
    monitor_of,
    worker_or_404,
)
from ..errors import ApiError, ApiJSONResponse, respond, unknown_reference
from ..models import (
    BreakpointCreateRequest,
    BreakpointListResponse,
    BreakpointResponse,
    BreakpointUpdateRequest,
    GlobalBreakpointCreateRequest,
)

__all__ = ["router"]

router = APIRouter(tags=["breakpoints"])
_R = ApiJSONResponse


def _create(
    rt: Runtime,
    body: BreakpointCreateRequest,
    *,
    job_id: str | None = None,
    worker_id: str | None = None,
    flow_id: str | None = None,
) -> dict[str, Any]:
    mon = monitor_of(rt)
    flow = None
    if job_id is not None:
        flow = job_or_404(rt, job_id).worker.flow
    if worker_id is not None:
        flow = worker_or_404(rt, worker_id).flow
    if flow_id is not None:
        flow = flow_or_404(rt, flow_id)
    if flow is not None:
        for rid in (body.routine_id, body.target_routine):
            if rid is not None and rid not in flow.routines:
                existing = sorted(flow.routines)
                raise unknown_reference(
                    f"flow {flow.flow_id!r} has no routine {rid!r}; existing routines: "
                    f"{', '.join(existing) or 'none'}",
                    {"routine_id": rid, "existing_routines": existing},
                )
    try:
        bp = mon.add_breakpoint(
            body.type,
            body.routine_id,
            slot_name=body.slot_name,
            event_name=body.event_name,
            target_routine=body.target_routine,
            condition=body.condition,
            enabled=body.enabled,
            job=job_id,
            worker=worker_id,
            flow=flow_id,
        )
    except ExpressionError:
        raise
    except ValueError as exc:  # the breakpoint's own checks of its fields: input errors
        raise ApiError(422, "VALIDATION_ERROR", str(exc), {"type": body.type}) from None
    return bp.to_dict()  # type: ignore[no-any-return]


# -- per job ------------------------------------------------------------------------------
@router.post(
    "/jobs/{job_id}/breakpoints",
    status_code=201,
    response_class=_R,
    responses={201: {"model": BreakpointResponse}},
    summary="Set a breakpoint on a job",
)
async def create_job_breakpoint(
    request: Request, *, job: JobContext = Depends(job_path), body: BreakpointCreateRequest
) -> ApiJSONResponse:
    return respond(_create(get_runtime(request), body, job_id=job.job_id), 201)


@router.get(
    "/jobs/{job_id}/breakpoints",
    response_class=_R,
    responses={200: {"model": BreakpointListResponse}},
    summary="Breakpoints of a job",
)
async def list_job_breakpoints(
    request: Request, *, job: JobContext = Depends(job_path)
) -> ApiJSONResponse:
    rt = get_runtime(request)
    bps = [b.to_dict() for b in monitor_of(rt).breakpoints.list(job_id=job.job_id)]
    return respond({"breakpoints": bps, "total": len(bps)})


@router.delete(
    "/jobs/{job_id}/breakpoints/{breakpoint_id}",
    status_code=204,
    summary="Delete a breakpoint of a job",
)
async def delete_job_breakpoint(
    request: Request, *, job: JobContext = Depends(job_path), bp: Any = Depends(breakpoint_path)
) -> Response:
    rt = get_runtime(request)
    if bp.job_id != job.job_id:
        raise ApiError(
            404,
            "BREAKPOINT_NOT_FOUND",
            f"job {job.job_id!r} has no breakpoint {bp.breakpoint_id!r}",
            {"job_id": job.job_id, "breakpoint_id": bp.breakpoint_id},
        )
    rt.monitor.remove_breakpoint(bp.breakpoint_id)
    return Response(status_code=204)


# -- global -------------------------------------------------------------------------------
@router.get(
    "/breakpoints",
    response_class=_R,
    responses={200: {"model": BreakpointListResponse}},
    summary="List all breakpoints",
)
async def list_breakpoints(
    request: Request,
    job_id: str | None = None,
    worker_id: str | None = None,
    flow_id: str | None = None,
) -> ApiJSONResponse:
    mon = monitor_of(get_runtime(request))
    bps = [
        b.to_dict()
        for b in mon.breakpoints.list(job_id=job_id, worker_id=worker_id, flow_id=flow_id)
    ]
    return respond({"breakpoints": bps, "total": len(bps)})


@router.post(
    "/breakpoints",
    status_code=201,
    response_class=_R,
    responses={201: {"model": BreakpointResponse}},
    summary="Create a breakpoint (for a job, a worker, a flow, or every job)",
)
async def create_breakpoint(
    request: Request, body: GlobalBreakpointCreateRequest
) -> ApiJSONResponse:
    base = BreakpointCreateRequest.model_validate(
        body.model_dump(exclude={"job_id", "worker_id", "flow_id"}, exclude_none=True)
    )
    return respond(
        _create(
            get_runtime(request),
            base,
            job_id=body.job_id,
            worker_id=body.worker_id,
            flow_id=body.flow_id,
        ),
        201,
    )


@router.get(
    "/breakpoints/{breakpoint_id}",
    response_class=_R,
    responses={200: {"model": BreakpointResponse}},
    summary="Get a breakpoint",
)
async def get_breakpoint(
    request: Request, *, bp: Any = Depends(breakpoint_path)
) -> ApiJSONResponse:
    return respond(bp.to_dict())


@router.put(
    "/breakpoints/{breakpoint_id}",
    response_class=_R,
    responses={200: {"model": BreakpointResponse}},
    summary="Enable or disable a breakpoint",
)
async def update_breakpoint(
    request: Request, *, bp: Any = Depends(breakpoint_path), body: BreakpointUpdateRequest
) -> ApiJSONResponse:
    rt = get_runtime(request)
    return respond(rt.monitor.set_breakpoint_enabled(bp.breakpoint_id, body.enabled).to_dict())


@router.delete("/breakpoints/{breakpoint_id}", status_code=204, summary="Delete a breakpoint")
async def delete_breakpoint(request: Request, *, bp: Any = Depends(breakpoint_path)) -> Response:
    rt = get_runtime(request)
    rt.monitor.remove_breakpoint(bp.breakpoint_id)
    return Response(status_code=204)


@router.post(
    "/breakpoints/{breakpoint_id}/resume",
    response_class=_R,
    summary="Resume every job stopped at a breakpoint",
)
async def resume_breakpoint(
    request: Request, *, bp: Any = Depends(breakpoint_path)
) -> ApiJSONResponse:
    rt = get_runtime(request)
    resumed = []
    for job in rt.monitor.paused_jobs():
        if any(p.breakpoint_id == bp.breakpoint_id for p in list(job.parked)):
            try:
                job.debug.resume()
            except JobStateError:  # released meanwhile (finished, resumed by someone else)
                continue
            resumed.append(job.job_id)
    return respond(
        {"breakpoint_id": bp.breakpoint_id, "resumed_jobs": resumed, "count": len(resumed)}
    )
