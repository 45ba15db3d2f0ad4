"""Jobs: submit (one or in bulk), control (complete, fail, pause, resume, cancel, retry) and
wait for jobs."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import ValidationError

from routilux_nb.core.clock import iso
from routilux_nb.core.job import JobContext
from routilux_nb.monitor.tracecontext import incoming_trace

from ..deps import api_base, get_runtime, job_dict, job_path
from ..errors import ApiError, ApiJSONResponse, map_exception, respond
from ..models import (
    BulkJobsRequest,
    BulkJobsResponse,
    CancelRequest,
    FailRequest,
    JobResponse,
    JobSubmitRequest,
    WaitResponse,
)
from ..submit import submit_job

__all__ = ["router", "wait_for"]

router = APIRouter(tags=["jobs"])
_R = ApiJSONResponse


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
