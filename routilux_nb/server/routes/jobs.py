"""Jobs: list, submit (one or in bulk), inspect, control and wait for jobs."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import datetime, timezone
from typing import Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import ValidationError

from routilux_nb.core.clock import iso
from routilux_nb.core.flow_checks import entry_hint
from routilux_nb.core.job import JobContext
from routilux_nb.core.runtime import Runtime
from routilux_nb.core.worker import Worker
from routilux_nb.monitor.tracecontext import incoming_trace

from ..deps import (
    Page,
    api_base,
    fields_query,
    flow_or_404,
    get_runtime,
    job_monitor,
    job_path,
    links_for_job,
    paginate,
    routine_or_404,
    select_fields,
    slot_or_404,
    worker_or_404,
)
from ..errors import ApiError, ApiJSONResponse, map_exception, respond
from ..models import (
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
from ..submit import can_run_inline, submit_nonblocking

__all__ = ["job_dict", "router", "submit_job", "wait_for"]

router = APIRouter(tags=["jobs"])
_R = ApiJSONResponse
FIELDS = fields_query(JOB_FIELDS)


def job_dict(base: str, job: JobContext, *, include_data: bool = True) -> dict[str, Any]:
    """A job as the API shows it, with ``_links``."""
    d = job.to_dict(include_data=include_data)
    d["_links"] = links_for_job(base, job)
    return d


def _target(rt: Runtime, req: JobSubmitRequest) -> tuple[Worker, str, str]:
    """Check every reference of a submission (unknown names answer 404 naming what exists) and
    return the worker that runs it, with the entry routine and slot."""
    worker = None
    if req.worker_id is not None:
        worker = worker_or_404(rt, req.worker_id)
        if req.flow_id is not None and req.flow_id != worker.flow_id:
            raise ApiError(
                409,
                "INVALID_STATE",
                f"worker {worker.worker_id!r} runs flow {worker.flow_id!r}, not {req.flow_id!r}",
                {"worker_id": worker.worker_id, "flow_id": worker.flow_id},
            )
        flow = worker.flow
    elif req.flow_id is None:
        raise ApiError(
            422,
            "VALIDATION_ERROR",
            "give flow_id (or the worker_id of a running worker)",
            {"errors": [{"field": "flow_id", "message": "Field required", "type": "missing"}]},
        )
    else:
        flow = flow_or_404(rt, req.flow_id)
    if req.routine_id is not None:
        routine = routine_or_404(flow, req.routine_id)
    else:
        entries = flow.entry_routines()
        if len(entries) != 1:
            raise ApiError(
                409,
                "INVALID_STATE",
                f"flow {flow.flow_id!r} has entry routines {entries}: say which one with "
                f"routine_id{entry_hint(flow, entries)}",
                {"flow_id": flow.flow_id, "entry_routines": entries},
            )
        routine = flow.routines[entries[0]]
    if req.slot_name is not None:
        slot_or_404(routine, req.slot_name)
        slot_name = req.slot_name
    elif len(routine.slot_specs) != 1:
        slots = list(routine.slot_specs)
        raise ApiError(
            409,
            "INVALID_STATE",
            f"routine {routine.routine_id!r} has slots {slots}: say which one with slot_name",
            {"routine_id": routine.routine_id, "slots": slots},
        )
    else:
        slot_name = next(iter(routine.slot_specs))
    if req.job_id is not None:
        try:
            rt.get_job(req.job_id)
        except KeyError:
            pass
        else:
            raise ApiError(
                409,
                "JOB_ALREADY_EXISTS",
                f"a job {req.job_id!r} already exists; job ids must be unique",
                {"job_id": req.job_id},
            )
    return (worker if worker is not None else rt.worker_for(flow)), routine.routine_id, slot_name


async def submit_job(rt: Runtime, req: JobSubmitRequest) -> JobContext:
    """Submit after checking every reference; never blocks the server (503 ``BACKPRESSURE``
    when the entry slot stays full, see :mod:`routilux_nb.server.submit`)."""
    worker, routine_id, slot_name = _target(rt, req)
    return await submit_nonblocking(
        rt,
        worker.submit,
        req.job_id,
        req.routine_id,
        req.slot_name,
        req.data,
        metadata=req.metadata,
        timeout=req.timeout,
        inline=can_run_inline(worker, routine_id, slot_name),
    )


async def wait_for(job: JobContext, timeout: float) -> bool:
    """Wait for ``job`` on the event loop (no thread per waiter); true if it finished.

    Polls the job's status with a growing interval (5 ms up to 100 ms): a thousand waiters
    cost a few thousand cheap wake-ups a second, and no thread.
    """
    if job.is_finished:
        return True
    deadline = time.monotonic() + timeout
    delay = 0.005
    while not job.is_finished:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        await asyncio.sleep(min(delay, remaining))
        delay = min(delay * 1.5, 0.1)
    return True


_DATE_TIME = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(?:\.\d+)?(?:[Zz]|[+-]\d\d:\d\d)?")


def _date_time(description: str) -> Any:
    return Query(
        None,
        max_length=64,
        description=description,
        json_schema_extra={"format": "date-time"},
        examples=["2026-01-31T12:00:00Z"],
    )


def _epoch(name: str, text: str | None) -> float | None:
    """Unix seconds of an RFC 3339 date-time (without an offset: UTC); anything else is a 422."""
    if text is None:
        return None
    when = None
    if _DATE_TIME.fullmatch(text):
        try:
            when = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
        except ValueError:
            pass
    if when is None:
        raise ApiError(
            422,
            "VALIDATION_ERROR",
            f"invalid request: {name}: {text!r} is not a date-time such as 2026-01-31T12:00:00Z",
            {
                "errors": [
                    {
                        "field": name,
                        "location": "query",
                        "type": "datetime_parsing",
                        "message": "expected an RFC 3339 date-time, e.g. 2026-01-31T12:00:00Z",
                    }
                ]
            },
        )
    return (when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)).timestamp()


@router.get(
    "/jobs", response_class=_R, responses={200: {"model": JobListResponse}}, summary="List jobs"
)
async def list_jobs(
    request: Request,
    *,
    page: Page = Depends(paginate),
    worker_id: str | None = None,
    flow_id: str | None = None,
    status: list[JobStatus] | None = Query(
        None, description="one or more statuses (repeat the parameter)"
    ),
    created_after: str | None = _date_time("jobs created after this RFC 3339 date-time"),
    created_before: str | None = _date_time("jobs created before this RFC 3339 date-time"),
    sort_by: Literal["created_at", "completed_at", "status"] = Query(
        "created_at", description="the order's key (any other value is a 422)"
    ),
    order: Literal["asc", "desc"] = Query("desc", description="ascending or descending"),
    fields: str | None = FIELDS,
) -> ApiJSONResponse:
    """Newest first by default; ``sort_by=completed_at`` lists unfinished jobs last. Without
    filters, and with a store for any filter, a page costs the same however many jobs are kept."""
    rt = get_runtime(request)
    jobs, total = rt.list_jobs(
        flow_id=flow_id,
        worker_id=worker_id,
        status=status or None,
        limit=page.limit,
        offset=page.offset,
        created_after=_epoch("created_after", created_after),
        created_before=_epoch("created_before", created_before),
        sort_by=sort_by,
        order=order,
    )
    base = api_base(request)
    items = []
    for job in jobs:
        d = job_dict(base, job, include_data=False)
        d.pop("error_traceback", None)
        items.append(select_fields(d, fields) if fields is not None else d)
    return respond({"jobs": items, "total": total, "limit": page.limit, "offset": page.offset})


@router.post(
    "/jobs",
    status_code=201,
    response_class=_R,
    responses={201: {"model": JobResponse}},
    summary="Submit a job",
)
async def submit(request: Request, body: JobSubmitRequest) -> ApiJSONResponse:
    with incoming_trace(request.headers.get("traceparent"), request.headers.get("tracestate")):
        job = await submit_job(get_runtime(request), body)
    return respond(job_dict(api_base(request), job, include_data=False), 201)


@router.post(
    "/jobs/bulk",
    status_code=201,
    response_class=_R,
    responses={201: {"model": BulkJobsResponse}},
    summary="Submit many jobs",
)
async def submit_bulk(request: Request, body: BulkJobsRequest) -> ApiJSONResponse:
    """Each item is submitted on its own: a refused item gets an error envelope, the rest run."""
    rt = get_runtime(request)
    base = api_base(request)
    out: list[dict[str, Any]] = []
    created = 0
    for i, item in enumerate(body.jobs):
        try:
            job = await submit_job(rt, JobSubmitRequest.model_validate(item))
        except ValidationError as exc:
            errors = [
                {
                    "field": ".".join(str(p) for p in e["loc"]),
                    "message": e["msg"],
                    "type": e["type"],
                }
                for e in exc.errors()
            ]
            out.append(
                {
                    "index": i,
                    "error": {
                        "code": "VALIDATION_ERROR",
                        "message": f"item {i} is invalid",
                        "details": {"errors": errors},
                    },
                }
            )
        except ApiError as exc:
            out.append(
                {
                    "index": i,
                    "error": {"code": exc.code, "message": exc.message, "details": exc.details},
                }
            )
        except Exception as exc:
            mapped = map_exception(exc)
            if mapped is None:
                raise
            out.append(
                {
                    "index": i,
                    "error": {"code": mapped[1], "message": str(exc), "details": mapped[2]},
                }
            )
        else:
            created += 1
            out.append(job_dict(base, job, include_data=False))
    return respond(
        {"jobs": out, "total": len(out), "created": created, "failed": len(out) - created}, 201
    )


@router.get(
    "/jobs/{job_id}", response_class=_R, responses={200: {"model": JobView}}, summary="Get a job"
)
async def get_job(
    request: Request, *, job: JobContext = Depends(job_path), fields: str | None = FIELDS
) -> ApiJSONResponse:
    return respond(select_fields(job_dict(api_base(request), job), fields))


@router.get("/jobs/{job_id}/status", response_class=_R, summary="Job status")
async def job_status(request: Request, *, job: JobContext = Depends(job_path)) -> ApiJSONResponse:
    return respond(
        {
            "job_id": job.job_id,
            "status": job.status,
            "worker_id": job.worker_id,
            "flow_id": job.flow_id,
        }
    )


@router.get("/jobs/{job_id}/metrics", response_class=_R, summary="Job metrics")
async def job_metrics(request: Request, *, job: JobContext = Depends(job_path)) -> ApiJSONResponse:
    return respond(job_monitor(job).metrics.to_dict())


@router.get("/jobs/{job_id}/trace", response_class=_R, summary="Job execution trace")
async def job_trace(
    request: Request,
    *,
    job: JobContext = Depends(job_path),
    limit: int | None = Query(None, ge=1, le=10_000, description="latest events (1-10000)"),
) -> ApiJSONResponse:
    trace = job_monitor(job).trace
    return respond({"events": trace.to_list(limit), "total": trace.total})


@router.get("/jobs/{job_id}/logs", response_class=_R, summary="Job logs")
async def job_logs(request: Request, *, job: JobContext = Depends(job_path)) -> ApiJSONResponse:
    logs = [{**entry, "timestamp": iso(entry["timestamp"])} for entry in list(job.logs)]
    return respond({"job_id": job.job_id, "logs": logs, "total": len(logs)})


@router.get("/jobs/{job_id}/data", response_class=_R, summary="Job data")
async def job_data(request: Request, *, job: JobContext = Depends(job_path)) -> ApiJSONResponse:
    return respond({"job_id": job.job_id, "data": job.data})


@router.get("/jobs/{job_id}/output", response_class=_R, summary="What the job's routines printed")
async def job_output(
    request: Request,
    *,
    job: JobContext = Depends(job_path),
    incremental: bool = Query(False, description="only what is new since the last call"),
) -> ApiJSONResponse:
    output = job_monitor(job).output
    return respond(
        {
            "job_id": job.job_id,
            "output": output.read(incremental),
            "is_complete": job.is_finished,
            "truncated": bool(output.truncated),
        }
    )


@router.get(
    "/jobs/{job_id}/monitoring", response_class=_R, summary="Everything about a job's routines"
)
async def job_monitoring(
    request: Request, *, job: JobContext = Depends(job_path)
) -> ApiJSONResponse:
    rt = get_runtime(request)
    job_monitor(job)
    return respond(rt.monitor.job_monitoring(job))


@router.get(
    "/jobs/{job_id}/routines/status", response_class=_R, summary="Routine status within a job"
)
async def job_routines_status(
    request: Request, *, job: JobContext = Depends(job_path)
) -> ApiJSONResponse:
    rt = get_runtime(request)
    job_monitor(job)
    return respond(rt.monitor.job_routine_status(job))


@router.get(
    "/jobs/{job_id}/routines/{routine_id}/queue-status",
    response_class=_R,
    summary="Queue status of one routine within a job",
)
async def job_routine_queue(
    request: Request, *, job: JobContext = Depends(job_path), routine_id: str
) -> ApiJSONResponse:
    routine_or_404(job.worker.flow, routine_id)
    return respond(job.worker.queue_status(job.job_id).get(routine_id, []))


@router.get(
    "/jobs/{job_id}/queues/status", response_class=_R, summary="Queue status of every routine"
)
async def job_queues(request: Request, *, job: JobContext = Depends(job_path)) -> ApiJSONResponse:
    return respond(job.worker.queue_status(job.job_id))


@router.post("/jobs/{job_id}/complete", response_class=_R, summary="Mark a job completed")
async def complete_job(request: Request, *, job: JobContext = Depends(job_path)) -> ApiJSONResponse:
    job = job.complete()
    return respond(
        {"job_id": job.job_id, "status": job.status, "completed_at": iso(job.completed_at)}
    )


@router.post("/jobs/{job_id}/fail", response_class=_R, summary="Mark a job failed")
async def fail_job(
    request: Request, *, job: JobContext = Depends(job_path), body: FailRequest
) -> ApiJSONResponse:
    job = job.fail(body.error)
    return respond(
        {
            "job_id": job.job_id,
            "status": job.status,
            "error": job.error,
            "completed_at": iso(job.completed_at),
        }
    )


@router.post(
    "/jobs/{job_id}/pause",
    response_class=_R,
    responses={200: {"model": JobResponse}},
    summary="Pause a job",
)
async def pause_job(request: Request, *, job: JobContext = Depends(job_path)) -> ApiJSONResponse:
    """409 ``INVALID_STATE`` for a finished job (``job.pause()`` would only warn)."""
    job.worker.parking.pause_job(job)
    return respond(job_dict(api_base(request), job, include_data=False))


@router.post(
    "/jobs/{job_id}/resume",
    response_class=_R,
    responses={200: {"model": JobResponse}},
    summary="Resume a paused job",
)
async def resume_job(request: Request, *, job: JobContext = Depends(job_path)) -> ApiJSONResponse:
    """409 ``INVALID_STATE`` for a job that is not paused (``job.resume()`` would only warn)."""
    job.worker.parking.resume_job(job)
    return respond(job_dict(api_base(request), job, include_data=False))


@router.post(
    "/jobs/{job_id}/cancel",
    response_class=_R,
    responses={200: {"model": JobResponse}},
    summary="Cancel a job",
)
async def cancel_job(
    request: Request,
    *,
    job: JobContext = Depends(job_path),
    body: CancelRequest | None = Body(None),
) -> ApiJSONResponse:
    job.cancel(body.reason if body is not None else None)
    return respond(job_dict(api_base(request), job, include_data=False))


@router.post(
    "/jobs/{job_id}/retry",
    response_class=_R,
    status_code=202,
    responses={202: {"model": JobResponse}},
    summary="Retry a failed or cancelled job",
)
async def retry_job(request: Request, *, job: JobContext = Depends(job_path)) -> ApiJSONResponse:
    """A new job that restarts a failed job at the routine that failed (with that activation's
    items and the job's data), or a cancelled one from its entry; 409 for other statuses."""
    new = job.retry()
    return respond(job_dict(api_base(request), new, include_data=False), status_code=202)


@router.post(
    "/jobs/{job_id}/wait",
    response_class=_R,
    responses={200: {"model": WaitResponse}},
    summary="Wait for a job to finish",
)
async def wait_job(
    request: Request,
    *,
    job: JobContext = Depends(job_path),
    timeout: float = Query(60.0, ge=0, le=3600, description="seconds (max 3600)"),
) -> ApiJSONResponse:
    """Answers when the job finishes, or after ``timeout`` with ``status: "timeout"``."""
    t0 = time.monotonic()
    finished = await wait_for(job, timeout)
    return respond(
        {
            "status": job.status if finished else "timeout",
            "job_id": job.job_id,
            "final_status": job.status,
            "waited_seconds": round(time.monotonic() - t0, 6),
        }
    )
