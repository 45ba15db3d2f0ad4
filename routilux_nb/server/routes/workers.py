"""Workers: start, stop, pause and resume workers; their statistics, history, jobs, breakpoints."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from routilux_nb.core.clock import iso, now
from routilux_nb.core.worker import Worker

from ..deps import (
    Page,
    api_base,
    breakpoint_path,
    fields_query,
    flow_or_404,
    get_runtime,
    links_for_worker,
    monitor_of,
    paginate,
    select_fields,
    worker_path,
)
from ..errors import ApiError, ApiJSONResponse, respond
from ..models import (
    WORKER_FIELDS,
    BreakpointUpdateRequest,
    JobListResponse,
    JobStatus,
    WorkerCreateRequest,
    WorkerListResponse,
    WorkerResponse,
    WorkerStatus,
    WorkerView,
)
from .jobs import job_dict

FIELDS = fields_query(WORKER_FIELDS)

__all__ = ["router", "worker_dict"]

router = APIRouter(tags=["workers"])
_R = ApiJSONResponse


def worker_dict(base: str, worker: Worker) -> dict[str, Any]:
    d = worker.to_dict()
    d["_links"] = links_for_worker(base, worker)
    return d


@router.get(
    "/workers",
    response_class=_R,
    responses={200: {"model": WorkerListResponse}},
    summary="List workers",
)
async def list_workers(
    request: Request,
    *,
    page: Page = Depends(paginate),
    flow_id: str | None = None,
    status: WorkerStatus | None = None,
) -> ApiJSONResponse:
    workers = [
        w
        for w in list(get_runtime(request).workers.values())
        if (flow_id is None or w.flow_id == flow_id) and (status is None or w.status == status)
    ]
    base = api_base(request)
    items = [worker_dict(base, w) for w in workers[page.offset : page.offset + page.limit]]
    return respond(
        {"workers": items, "total": len(workers), "limit": page.limit, "offset": page.offset}
    )


@router.post(
    "/workers",
    status_code=201,
    response_class=_R,
    responses={201: {"model": WorkerResponse}},
    summary="Start a worker for a flow",
)
def create_worker(request: Request, body: WorkerCreateRequest) -> ApiJSONResponse:
    rt = get_runtime(request)
    flow = flow_or_404(rt, body.flow_id)
    if body.worker_id is not None and body.worker_id in rt.workers:
        raise ApiError(
            409,
            "WORKER_ALREADY_EXISTS",
            f"a worker {body.worker_id!r} already exists",
            {"worker_id": body.worker_id},
        )
    worker = rt.start(flow, body.worker_id)
    return respond(worker_dict(api_base(request), worker), 201)


@router.get(
    "/workers/{worker_id}",
    response_class=_R,
    responses={200: {"model": WorkerView}},
    summary="Get a worker",
)
async def get_worker(
    request: Request, *, worker: Worker = Depends(worker_path), fields: str | None = FIELDS
) -> ApiJSONResponse:
    return respond(select_fields(worker_dict(api_base(request), worker), fields))


@router.delete("/workers/{worker_id}", status_code=204, summary="Stop a worker")
def stop_worker(request: Request, *, worker: Worker = Depends(worker_path)) -> Response:
    """Unfinished jobs of the worker are cancelled; the worker stays listed as ``stopped``."""
    worker.stop()
    return Response(status_code=204)


def _state(worker: Worker) -> dict[str, Any]:
    return {"worker_id": worker.worker_id, "status": worker.status, "updated_at": iso(now())}


@router.post("/workers/{worker_id}/pause", response_class=_R, summary="Pause a worker")
async def pause_worker(
    request: Request, *, worker: Worker = Depends(worker_path)
) -> ApiJSONResponse:
    return respond(_state(worker.pause()))


@router.post("/workers/{worker_id}/resume", response_class=_R, summary="Resume a worker")
async def resume_worker(
    request: Request, *, worker: Worker = Depends(worker_path)
) -> ApiJSONResponse:
    return respond(_state(worker.resume()))


@router.get("/workers/{worker_id}/statistics", response_class=_R, summary="Worker statistics")
async def worker_statistics(
    request: Request, *, worker: Worker = Depends(worker_path)
) -> ApiJSONResponse:
    rt = get_runtime(request)
    monitor_of(rt)
    return respond(worker.statistics())


@router.get("/workers/{worker_id}/history", response_class=_R, summary="Worker execution history")
async def worker_history(
    request: Request,
    *,
    worker: Worker = Depends(worker_path),
    page: Page = Depends(paginate),
    routine_id: str | None = None,
) -> ApiJSONResponse:
    """The worker's latest emits, newest first (bounded by the monitor's ``history_size``)."""
    rt = get_runtime(request)
    monitor_of(rt)
    history = worker.history
    total = len(history.records(routine_id))
    rows = history.to_list(routine_id, page.limit, page.offset)
    return respond(
        {
            "worker_id": worker.worker_id,
            "history": rows,
            "total": total,
            "limit": page.limit,
            "offset": page.offset,
        }
    )


@router.get(
    "/workers/{worker_id}/routines/states", response_class=_R, summary="Routine states of a worker"
)
async def worker_routine_states(
    request: Request, *, worker: Worker = Depends(worker_path)
) -> ApiJSONResponse:
    rt = get_runtime(request)
    monitor_of(rt)
    return respond(worker.routine_states())


@router.get(
    "/workers/{worker_id}/jobs",
    response_class=_R,
    responses={200: {"model": JobListResponse}},
    summary="Jobs of a worker",
)
async def worker_jobs(
    request: Request,
    *,
    worker: Worker = Depends(worker_path),
    page: Page = Depends(paginate),
    status: JobStatus | None = None,
) -> ApiJSONResponse:
    rt = get_runtime(request)
    jobs, total = rt.list_jobs(
        worker_id=worker.worker_id, status=status, limit=page.limit, offset=page.offset
    )
    base = api_base(request)
    items = []
    for job in jobs:
        d = job_dict(base, job, include_data=False)
        d.pop("error_traceback", None)
        items.append(d)
    return respond({"jobs": items, "total": total, "limit": page.limit, "offset": page.offset})


@router.put(
    "/workers/{worker_id}/breakpoints/{breakpoint_id}",
    response_class=_R,
    summary="Enable or disable a breakpoint",
)
async def set_breakpoint_enabled(
    request: Request,
    *,
    worker: Worker = Depends(worker_path),
    bp: Any = Depends(breakpoint_path),
    body: BreakpointUpdateRequest,
) -> ApiJSONResponse:
    """The breakpoint must apply to the worker's jobs (its job, worker or flow, or all jobs)."""
    rt = get_runtime(request)
    job_worker = None
    if bp.job_id is not None:
        try:
            job_worker = rt.get_job(bp.job_id).worker_id
        except KeyError:
            job_worker = None
    if (
        bp.worker_id not in (None, worker.worker_id)
        or bp.flow_id not in (None, worker.flow_id)
        or job_worker not in (None, worker.worker_id)
    ):
        raise ApiError(
            404,
            "BREAKPOINT_NOT_FOUND",
            f"breakpoint {bp.breakpoint_id!r} does not apply to worker {worker.worker_id!r}",
            {"breakpoint_id": bp.breakpoint_id, "worker_id": worker.worker_id},
        )
    bp = rt.monitor.set_breakpoint_enabled(bp.breakpoint_id, body.enabled)
    return respond(
        {"breakpoint_id": bp.breakpoint_id, "enabled": bp.enabled, "updated_at": iso(bp.updated_at)}
    )
