"""Shared pieces of the routes: the runtime, lookups that answer 404, pagination, fields, links."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import Path, Query, Request

from routilux_nb.core.flow import Flow
from routilux_nb.core.job import JobContext
from routilux_nb.core.routine import Routine
from routilux_nb.core.runtime import Runtime
from routilux_nb.core.worker import Worker

from .errors import ApiError
from .models import fields_pattern

__all__ = [
    "Page",
    "api_base",
    "artifact_path",
    "breakpoint_or_404",
    "flow_versions_path",
    "breakpoint_path",
    "flow_path",
    "job_path",
    "worker_path",
    "fields_query",
    "flow_or_404",
    "get_runtime",
    "job_dict",
    "job_monitor",
    "job_or_404",
    "links_for_flow",
    "links_for_job",
    "links_for_worker",
    "monitor_of",
    "paginate",
    "routine_or_404",
    "select_fields",
    "slot_or_404",
    "worker_or_404",
]


def get_runtime(request: Request) -> Runtime:
    """The runtime the app serves (``app.state.runtime``)."""
    return request.app.state.runtime  # type: ignore[no-any-return]


def _names(items: Iterable[str], limit: int = 50) -> list[str]:
    return sorted(items)[:limit]


def job_or_404(rt: Runtime, job_id: str) -> JobContext:
    try:
        return rt.get_job(job_id)
    except KeyError:
        raise ApiError(
            404, "JOB_NOT_FOUND", f"Job {job_id!r} not found", {"job_id": job_id}
        ) from None


def worker_or_404(rt: Runtime, worker_id: str) -> Worker:
    worker = rt.workers.get(worker_id)
    if worker is None:
        raise ApiError(
            404,
            "WORKER_NOT_FOUND",
            f"Worker {worker_id!r} not found",
            {"worker_id": worker_id, "existing_workers": _names(rt.workers)},
        )
    return worker


def flow_or_404(rt: Runtime, flow_id: str) -> Flow:
    flow = rt.flows.get(flow_id)
    if flow is None:
        raise ApiError(
            404,
            "FLOW_NOT_FOUND",
            f"Flow {flow_id!r} not found",
            {"flow_id": flow_id, "existing_flows": _names(rt.flows)},
        )
    return flow


def routine_or_404(flow: Flow, routine_id: str) -> Routine:
    routine = flow.routines.get(routine_id)
    if routine is None:
        existing = _names(flow.routines)
        raise ApiError(
            404,
            "ROUTINE_NOT_FOUND",
            f"Routine {routine_id!r} not found in flow {flow.flow_id!r}; existing routines: "
            f"{', '.join(existing) or 'none'}",
            {"flow_id": flow.flow_id, "routine_id": routine_id, "existing_routines": existing},
        )
    return routine


def slot_or_404(routine: Routine, slot_name: str) -> None:
    slots = list(routine.slot_specs)
    if slot_name not in slots:
        raise ApiError(
            404,
            "SLOT_NOT_FOUND",
            f"Routine {routine.routine_id!r} has no slot {slot_name!r}; its slots: "
            f"{', '.join(slots) or 'none'}",
            {"routine_id": routine.routine_id, "slot_name": slot_name, "existing_slots": slots},
        )


# -- path objects, as FastAPI dependencies ---------------------------------------------------
async def job_path(request: Request, job_id: str) -> JobContext:
    """The job of the ``{job_id}`` path parameter (404 ``JOB_NOT_FOUND``)."""
    return job_or_404(get_runtime(request), job_id)


async def worker_path(request: Request, worker_id: str) -> Worker:
    """The worker of the ``{worker_id}`` path parameter (404 ``WORKER_NOT_FOUND``)."""
    return worker_or_404(get_runtime(request), worker_id)


async def flow_path(request: Request, flow_id: str) -> Flow:
    """The flow of the ``{flow_id}`` path parameter (404 ``FLOW_NOT_FOUND``)."""
    return flow_or_404(get_runtime(request), flow_id)


async def breakpoint_path(request: Request, breakpoint_id: str) -> Any:
    """The breakpoint of the ``{breakpoint_id}`` path parameter (404 ``BREAKPOINT_NOT_FOUND``)."""
    return breakpoint_or_404(get_runtime(request), breakpoint_id)


#: an artifact's id as the artifact store makes it
ARTIFACT_ID = Path(
    ...,
    min_length=32,
    max_length=32,
    pattern=r"^[0-9a-f]{32}$",
    description="32 lowercase hex digits",
)


async def artifact_path(request: Request, artifact_id: str = ARTIFACT_ID) -> Any:
    """The artifact of the ``{artifact_id}`` path parameter (404 ``ARTIFACT_NOT_FOUND``)."""
    try:
        return get_runtime(request).artifacts.get(artifact_id)
    except KeyError:
        raise ApiError(
            404,
            "ARTIFACT_NOT_FOUND",
            f"Artifact {artifact_id!r} not found",
            {"artifact_id": artifact_id},
        ) from None


async def flow_versions_path(request: Request, flow_id: str) -> list[Any]:
    """Every version of the ``{flow_id}`` path parameter's flow, newest first (404
    ``FLOW_NOT_FOUND`` for an id never registered; a removed flow keeps its versions)."""
    versions = get_runtime(request).flow_versions.list(flow_id)
    if not versions:
        raise ApiError(
            404,
            "FLOW_NOT_FOUND",
            f"Flow {flow_id!r} has no versions (it was never registered)",
            {"flow_id": flow_id},
        )
    return list(versions)


def monitor_of(rt: Runtime) -> Any:
    """The runtime's monitor; 409 when the runtime runs without monitoring."""
    mon = rt.monitor
    if not mon.enabled:
        raise ApiError(409, "MONITORING_DISABLED", "this runtime was created with monitor=False")
    return mon


def job_monitor(job: JobContext) -> Any:
    if job.monitor is None:
        raise ApiError(
            409,
            "MONITORING_DISABLED",
            f"job {job.job_id!r} has no monitoring data (runtime created with monitor=False)",
        )
    return job.monitor


def breakpoint_or_404(rt: Runtime, breakpoint_id: str) -> Any:
    try:
        return monitor_of(rt).breakpoints.get(breakpoint_id)
    except KeyError:
        raise ApiError(
            404,
            "BREAKPOINT_NOT_FOUND",
            f"Breakpoint {breakpoint_id!r} not found",
            {"breakpoint_id": breakpoint_id},
        ) from None


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


async def paginate(
    limit: int = Query(100, ge=1, le=1000, description="maximum items (1-1000)"),
    offset: int = Query(0, ge=0, le=10_000_000, description="items to skip"),
) -> Page:
    """``limit`` 1..1000 (default 100) and ``offset`` >= 0; anything else is a 422."""
    return Page(limit, offset)


def fields_query(names: tuple[str, ...]) -> Any:
    """The ``?fields=`` parameter of a resource whose fields are ``names`` (others are a 422)."""
    return Query(
        None,
        max_length=2000,
        pattern=fields_pattern(names),
        description=f"comma separated fields to return, among: {', '.join(names)}",
    )


def select_fields(obj: Mapping[str, Any], fields: str | None) -> dict[str, Any]:
    """Keep only ``fields`` (comma separated, checked by the query's pattern); a field the object
    does not have (e.g. ``error_traceback`` of a job that did not fail) comes back null."""
    if fields is None:
        return dict(obj)
    return {f: obj.get(f) for f in fields.split(",")}


def api_base(request: Request) -> str:
    """``root_path`` plus the API prefix the request came in on (``/api/v1`` or ``/api``)."""
    scope = request.scope
    root = scope.get("root_path", "") or ""
    path = scope.get("path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    prefix = "/api/v1" if path == "/api/v1" or path.startswith("/api/v1/") else "/api"
    return f"{root.rstrip('/')}{prefix}"


_SAFE_ID = re.compile(r"[A-Za-z0-9_.~-]+")


def _q(value: str) -> str:
    return value if _SAFE_ID.fullmatch(value) else quote(value, safe="")


def links_for_job(base: str, job: JobContext) -> dict[str, str]:
    me = f"{base}/jobs/{_q(job.job_id)}"
    return {
        "self": me,
        "worker": f"{base}/workers/{_q(job.worker_id)}",
        "flow": f"{base}/flows/{_q(job.flow_id)}",
        "status": f"{me}/status",
        "metrics": f"{me}/metrics",
        "trace": f"{me}/trace",
        "logs": f"{me}/logs",
        "output": f"{me}/output",
        "debug": f"{me}/debug",
    }


def links_for_worker(base: str, worker: Worker) -> dict[str, str]:
    me = f"{base}/workers/{_q(worker.worker_id)}"
    return {
        "self": me,
        "flow": f"{base}/flows/{_q(worker.flow_id)}",
        "jobs": f"{me}/jobs",
        "statistics": f"{me}/statistics",
        "history": f"{me}/history",
    }


def links_for_flow(base: str, flow: Flow) -> dict[str, str]:
    me = f"{base}/flows/{_q(flow.flow_id)}"
    return {
        "self": me,
        "routines": f"{me}/routines",
        "connections": f"{me}/connections",
        "metrics": f"{me}/metrics",
        "dsl": f"{me}/dsl",
        "jobs": f"{base}/jobs?flow_id={_q(flow.flow_id)}",
    }


def job_dict(base: str, job: JobContext, *, include_data: bool = True) -> dict[str, Any]:
    """A job as the API shows it, with ``_links``."""
    d = job.to_dict(include_data=include_data)
    d["_links"] = links_for_job(base, job)
    return d
