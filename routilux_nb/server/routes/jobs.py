"""Jobs: list them (filters, sorting, pagination) and read one job's status, data, trace,
logs, output, metrics and queues. Submitting and controlling jobs: :mod:`.job_control`."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from routilux_nb.core.clock import iso
from routilux_nb.core.extensions import AtLeast
from routilux_nb.core.job import JobContext

from ..deps import (
    Page,
    api_base,
    fields_query,
    get_runtime,
    job_dict,
    job_monitor,
    job_path,
    paginate,
    routine_or_404,
    select_fields,
)
from ..errors import ApiError, ApiJSONResponse, respond
from ..models import JOB_FIELDS, JobListResponse, JobStatus, JobView
from ..submit import submit_job
from .job_control import wait_for

__all__ = ["job_dict", "router", "submit_job", "wait_for"]

router = APIRouter(tags=["jobs"])
_R = ApiJSONResponse
FIELDS = fields_query(JOB_FIELDS)


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
    filters, and with a store for any filter, a page costs the same however many jobs are kept.

    ``total`` is exact when ``total_relation`` is ``eq``. Filtered by creation time or worker,
    a SQLite store counts matches only up to 10,000 (or just past the page asked for, if that is
    further): beyond, ``total_relation`` is ``gte`` and ``total`` a lower bound. ``has_more``
    always says whether jobs follow this page."""
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
    return respond(
        {
            "jobs": items,
            "total": total,
            "total_relation": "gte" if isinstance(total, AtLeast) else "eq",
            "has_more": page.offset + len(items) < total,
            "limit": page.limit,
            "offset": page.offset,
        }
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
