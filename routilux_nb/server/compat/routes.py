"""The original server's operations our resource API spells differently: one-shot execute,
execution trace, health stats and readiness, runtimes and discovery."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from routilux_nb.core.clock import iso, now
from routilux_nb.core.ids import ID_MAX_LENGTH
from routilux_nb.core.job import JobContext
from routilux_nb.monitor.tracecontext import incoming_trace

from ..deps import api_base, get_runtime, job_monitor, job_path
from ..errors import ApiError, ApiJSONResponse, respond
from ..models import ID_REGEX, JobSubmitRequest, JsonObject

__all__ = ["RUNTIME_ID", "router"]

router = APIRouter(tags=["compat"])
_R = ApiJSONResponse

#: the id this server's runtime has in the original's ``/runtimes`` API
RUNTIME_ID = "default"


# -- one-shot execution -------------------------------------------------------------------
class ExecuteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # the rules of JobSubmitRequest, so what passes here is a valid submission
    flow_id: str = Field(min_length=1, max_length=ID_MAX_LENGTH, pattern=ID_REGEX)
    routine_id: str | None = Field(
        None,
        min_length=1,
        max_length=ID_MAX_LENGTH,
        pattern=ID_REGEX,
        description="entry routine (default: the only one)",
    )
    slot_name: str | None = Field(
        None, min_length=1, max_length=256, description="entry slot (default: the only one)"
    )
    data: JsonObject = Field(default_factory=dict)
    wait: StrictBool = Field(
        False, description="answer once the job has finished (or timeout passed)"
    )
    timeout: float = Field(60.0, gt=0, le=3600, description="seconds to wait when wait is true")
    metadata: JsonObject | None = None
    idempotency_key: str | None = Field(None, max_length=256, description="accepted; not used")


@router.post(
    "/execute", summary="Execute a flow once (the original's form of POST /flows/{id}/execute)"
)
async def execute(request: Request, body: ExecuteRequest) -> ApiJSONResponse:
    """Submit one job to the flow's worker (started if needed); with ``wait``, answer when it
    finished: ``status`` is its final status, or ``timeout``."""
    from ..routes.job_control import wait_for
    from ..submit import submit_job

    rt = get_runtime(request)
    req = JobSubmitRequest.model_validate(
        {
            "flow_id": body.flow_id,
            "routine_id": body.routine_id,
            "slot_name": body.slot_name,
            "data": body.data,
            "metadata": body.metadata,
        }
    )
    t0 = time.monotonic()
    with incoming_trace(request.headers.get("traceparent"), request.headers.get("tracestate")):
        job = await submit_job(rt, req)
    status: str = job.status
    if body.wait:
        finished = await wait_for(job, body.timeout)
        status = job.status if finished else "timeout"
    out: dict[str, Any] = {
        "job_id": job.job_id,
        "worker_id": job.worker_id,
        "flow_id": job.flow_id,
        "status": status,
        "output": None,
        "result": None,
        "error": None,
        "elapsed_seconds": None,
    }
    if body.wait:
        out["output"] = job_monitor(job).output.read(False)
        out["result"] = dict(job.data)
        out["error"] = str(job.error) if job.error else None
        out["elapsed_seconds"] = round(time.monotonic() - t0, 6)
    out["_links"] = {"job": f"{api_base(request)}/jobs/{job.job_id}"}
    return respond(out)


# -- execution trace ----------------------------------------------------------------------
def _event(e: dict[str, Any]) -> dict[str, Any]:
    data = e.get("data")
    return {
        **e,
        "data": data if isinstance(data, dict) else ({} if data is None else {"payload": data}),
    }


@router.get(
    "/jobs/{job_id}/execution-trace",
    summary="Job execution trace (the original's spelling of /trace)",
)
async def execution_trace(
    job: JobContext = Depends(job_path),
    limit: int | None = Query(None, ge=1, le=10_000, description="latest events"),
) -> ApiJSONResponse:
    """``{events, total}``: the events of ``/jobs/{id}/trace``, ``data`` always an object."""
    trace = job_monitor(job).trace
    return respond({"events": [_event(e) for e in trace.to_list(limit)], "total": trace.total})


# -- health --------------------------------------------------------------------------------
def _runtime_summary(rt: Any) -> dict[str, Any]:
    workers = list(rt.workers.values())
    statuses: dict[str, int] = {}
    for w in workers:
        statuses[w.status] = statuses.get(w.status, 0) + 1
    active = [w for w in workers if w.status in ("running", "paused")]
    return {
        "shutdown": rt.closed,
        "active_workers": len(active),
        "worker_statuses": statuses,
        "active_jobs": len(rt.jobs(status=("pending", "running", "paused"))),
        "flows": len(rt.flows),
    }


async def _live() -> dict[str, Any]:
    from ..health import live

    return await live()


router.add_api_route("/health/live", _live, methods=["GET"], summary="Liveness probe")


@router.get(
    "/health/ready", summary="Readiness probe", responses={503: {"description": "Not ready"}}
)
def ready(request: Request) -> JSONResponse:
    """The documented ``{ready, timestamp, checks}`` plus the original's ``status`` (``ready`` /
    ``not_ready``), ``runtime`` and ``reason``; 503 when not ready."""
    from ..health import check_components

    rt = request.app.state.runtime
    checks = check_components(rt)
    ok = all(c["status"] == "healthy" for c in checks.values())
    body: dict[str, Any] = {
        "ready": ok,
        "timestamp": iso(now()),
        "checks": checks,
        "status": "ready" if ok else "not_ready",
        "runtime": _runtime_summary(rt),
    }
    if not ok:
        failing = [name for name, c in checks.items() if c["status"] != "healthy"]
        body["reason"] = "runtime_shutdown" if rt.closed else "unhealthy: " + ", ".join(failing)
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get("/health/stats", summary="Health statistics (the original's shape)")
def stats(request: Request) -> dict[str, Any]:
    """``{status, runtime: {shutdown, active_workers, worker_statuses, active_jobs}, ...}``."""
    rt = request.app.state.runtime
    bus = getattr(rt.monitor, "bus", None)
    return {
        "status": "ok" if not rt.closed else "shutdown",
        "timestamp": iso(now()),
        "runtime": _runtime_summary(rt),
        "monitoring": {
            "bus_subscribers": getattr(bus, "subscriber_count", 0),
            "events_published": getattr(bus, "published", 0),
        },
    }


# -- runtimes ------------------------------------------------------------------------------
def _runtime_info(rt: Any) -> dict[str, Any]:
    return {
        "runtime_id": RUNTIME_ID,
        "thread_pool_size": rt.max_threads,
        "is_default": True,
        "active_job_count": len(rt.jobs(status=("pending", "running", "paused"))),
        "is_shutdown": rt.closed,
        "flows": len(rt.flows),
        "workers": len(rt.workers),
    }


class RuntimeCreateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    runtime_id: str = Field(min_length=1, max_length=256)
    thread_pool_size: int = Field(0, ge=0, le=1000)
    is_default: StrictBool = False


@router.get("/runtimes", summary="Runtimes (this server's runtime, as 'default')")
async def list_runtimes(request: Request) -> ApiJSONResponse:
    return respond(
        {
            "runtimes": [_runtime_info(get_runtime(request))],
            "total": 1,
            "default_runtime_id": RUNTIME_ID,
        }
    )


@router.post("/runtimes", summary="Create a runtime (only the existing one can be named)")
async def create_runtime(request: Request, body: RuntimeCreateRequest) -> ApiJSONResponse:
    """This server runs one runtime: naming it answers it; any other id is refused with 409."""
    if body.runtime_id != RUNTIME_ID:
        raise ApiError(
            409,
            "RUNTIME_LIMIT",
            f"this server serves one runtime, {RUNTIME_ID!r}; it cannot create {body.runtime_id!r} "
            "(start another server for another runtime)",
            {"runtime_id": body.runtime_id},
        )
    return respond({"runtime": _runtime_info(get_runtime(request))})


@router.get("/runtimes/{runtime_id}", summary="One runtime")
async def get_runtime_info(request: Request, runtime_id: str) -> ApiJSONResponse:
    if runtime_id != RUNTIME_ID:
        raise ApiError(
            404,
            "RUNTIME_NOT_FOUND",
            f"no runtime {runtime_id!r}; this server's runtime is {RUNTIME_ID!r}",
            {"runtime_id": runtime_id, "available": [RUNTIME_ID]},
        )
    return respond({"runtime": _runtime_info(get_runtime(request))})


# -- discovery -----------------------------------------------------------------------------
_NOTHING_TO_SYNC = (
    "nothing to sync: flows, workers and jobs are registered with this server's runtime directly"
)


def _flows(request: Request) -> dict[str, Any]:
    rt = get_runtime(request)
    flows = [f.describe() for f in list(rt.flows.values())]
    return {"flows": flows, "total": len(flows)}


def _jobs(request: Request, limit: int) -> dict[str, Any]:
    from ..deps import job_dict

    rt = get_runtime(request)
    jobs, total = rt.list_jobs(limit=limit)
    base = api_base(request)
    return {
        "jobs": [job_dict(base, j, include_data=False) for j in jobs],
        "total": total,
        "limit": limit,
        "offset": 0,
    }


@router.get("/discovery/flows", summary="Flows this runtime knows")
async def discover_flows(request: Request) -> ApiJSONResponse:
    return respond(_flows(request))


@router.post("/discovery/flows/sync", summary="Sync flows (a no-op: the runtime is the registry)")
async def sync_flows(request: Request) -> ApiJSONResponse:
    return respond({**_flows(request), "synced": 0, "message": _NOTHING_TO_SYNC})


@router.get("/discovery/jobs", summary="Jobs this runtime knows (newest first)")
async def discover_jobs(
    request: Request, limit: int = Query(100, ge=1, le=1000)
) -> ApiJSONResponse:
    return respond(_jobs(request, limit))


@router.post("/discovery/jobs/sync", summary="Sync jobs (a no-op)")
async def sync_jobs(request: Request, limit: int = Query(100, ge=1, le=1000)) -> ApiJSONResponse:
    return respond({**_jobs(request, limit), "synced": 0, "message": _NOTHING_TO_SYNC})


@router.post("/discovery/workers/sync", summary="Sync workers (a no-op)")
async def sync_workers(request: Request) -> ApiJSONResponse:
    rt = get_runtime(request)
    workers = [w.to_dict() for w in list(rt.workers.values())]
    return respond(
        {"workers": workers, "total": len(workers), "synced": 0, "message": _NOTHING_TO_SYNC}
    )
