"""Bulk submission through ``worker.map``: many entry payloads of one flow in one request.

``POST /flows/{flow_id}/jobs/bulk`` takes ``{"items": [payload, ...]}`` (at most
:data:`MAX_BULK_ITEMS`; more is a 413 saying how to split) and answers 202 with one job id per
item, in order, at once: the items run as one :class:`~routilux_nb.core.mapping.MapRun`, at
most ``max_in_flight`` unfinished at a time (the rest are submitted as earlier ones finish, so
their ids answer 404 until then). ``GET /flows/{flow_id}/jobs/bulk/{map_id}`` follows the
run: counts per status and each item's job.

Every reference is checked before anything runs (404 for the flow, worker, version, routine
or slot; 409 when the entry is ambiguous). Like a single submission it never blocks the
server: when the entry slot cannot take the first ``max_in_flight`` items at once, the run's
own thread submits them while the request waits on the event loop; if no item gets in for
``SUBMIT_WAIT`` seconds (or they are not all in after :data:`MAX_FIRST_WAIT`), the run is
cancelled (nothing of it runs) and the answer is 503 ``BACKPRESSURE`` with ``Retry-After``.
The per-item ``/jobs/bulk`` of the specification (each item names its own flow) stays in
:mod:`.jobs`.
"""

from __future__ import annotations

import asyncio
import collections
import threading
import time
from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from routilux_nb.core.flow import Flow
from routilux_nb.core.mapping import DEFAULT_MAX_IN_FLIGHT, MapRun
from routilux_nb.core.runtime import Runtime
from routilux_nb.core.worker import Worker

from ..deps import api_base, flow_path, get_runtime, worker_or_404
from ..errors import ApiError, ApiJSONResponse, respond
from ..models import ID_REGEX, JsonObject
from ..submit import (
    INLINE_MARGIN,
    RETRY_AFTER,
    SUBMIT_WAIT,
    backpressure,
    entry_of,
    flow_at_version,
    new_job_id,
)

__all__ = ["MAX_BULK_ITEMS", "KEPT_RUNS", "BulkSubmitRequest", "router"]

router = APIRouter(tags=["jobs"])
_R = ApiJSONResponse
#: items one request may carry
MAX_BULK_ITEMS = 1000
#: seconds a request may wait for its first items to get in, even while they trickle in
MAX_FIRST_WAIT = 10.0
#: bulk runs the server remembers for ``GET .../jobs/bulk/{map_id}`` (oldest forgotten first)
KEPT_RUNS = 100


def _id(description: str) -> Any:
    return Field(None, min_length=1, max_length=128, pattern=ID_REGEX, description=description)


class BulkSubmitRequest(BaseModel):
    """One job per item of ``items`` (each the entry payload, as ``data`` of ``POST /jobs``)."""

    model_config = ConfigDict(extra="forbid")
    items: list[JsonObject] = Field(
        description=f"entry payloads, one job each (1-{MAX_BULK_ITEMS}; more answers 413)"
    )
    routine_id: str | None = _id("entry routine (default: the only one)")
    slot_name: str | None = Field(
        None, min_length=1, max_length=256, description="entry slot (default: the only one)"
    )
    worker_id: str | None = _id("default: the flow's running worker")
    flow_version: int | None = Field(
        None, ge=1, le=2**31, description="run this version of the flow (default: the current)"
    )
    metadata: JsonObject | None = Field(None, description="metadata of every job of the run")
    timeout: float | None = Field(None, gt=0, le=86_400, description="per-job timeout, seconds")
    max_in_flight: int | None = Field(
        DEFAULT_MAX_IN_FLIGHT,
        ge=1,
        le=MAX_BULK_ITEMS,
        description="jobs of the run unfinished at once (null: submit all at once)",
    )


class BulkSubmitResponse(BaseModel):
    model_config = ConfigDict(extra="allow")
    map_id: str
    flow_id: str
    worker_id: str
    flow_version: int | None = None
    total: int
    submitted: int = Field(description="jobs submitted when the answer was given")
    max_in_flight: int | None
    job_ids: list[str] = Field(description="one per item, in the order of items")
    links: dict[str, str] = Field(alias="_links")


class BulkStatusResponse(BaseModel):
    model_config = ConfigDict(extra="allow")
    map_id: str
    flow_id: str
    total: int
    finished: int
    done: bool
    counts: dict[str, int]
    items: list[dict[str, Any]] = Field(description="index, job_id, status, error per item")


class _Runs:
    """The bulk runs of one app, newest kept."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: collections.OrderedDict[str, MapRun] = collections.OrderedDict()

    def add(self, run: MapRun) -> None:
        with self._lock:
            self._runs[run.map_id] = run
            while len(self._runs) > KEPT_RUNS:
                self._runs.popitem(last=False)

    def get(self, map_id: str) -> MapRun | None:
        with self._lock:
            return self._runs.get(map_id)


def _runs(request: Request) -> _Runs:
    state = request.app.state
    runs = getattr(state, "bulk_runs", None)
    if runs is None:
        runs = state.bulk_runs = _Runs()
    return runs


def _worker(rt: Runtime, flow: Flow, body: BulkSubmitRequest) -> Worker:
    if body.flow_version is not None:
        flow = flow_at_version(rt, flow.flow_id, body.flow_version)
    if body.worker_id is None:
        return rt.worker_for(flow)
    worker = worker_or_404(rt, body.worker_id)
    if worker.flow_id != flow.flow_id or (
        body.flow_version is not None and worker.flow is not flow
    ):
        raise ApiError(
            409,
            "INVALID_STATE",
            f"worker {worker.worker_id!r} runs flow {worker.flow_id!r} "
            f"(version {worker.flow_version}), not the one addressed",
            {"worker_id": worker.worker_id, "flow_id": worker.flow_id},
        )
    return worker


def _room(worker: Worker, routine_id: str, slot_name: str) -> int:
    """Free places of the entry slot now, or 0 when a connection also feeds it."""
    if any(c.target_routine == routine_id for c in list(worker.flow.connections)):
        return 0
    for status in worker.queue_status().get(routine_id, ()):
        if status["slot_name"] == slot_name:
            return int(status["max_length"] - status["unconsumed_count"])
    return 0


async def _first_handled(run: MapRun, first: int, wait: float) -> bool:
    """Wait on the event loop (no thread) until ``first`` items were submitted or refused;
    false when no item got in for ``wait`` seconds (the entry slot stays full)."""
    handled, since = run.handled, time.monotonic()
    deadline = since + MAX_FIRST_WAIT
    delay = 0.002
    while handled < first:
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 0.05)
        now, count = time.monotonic(), run.handled
        if count > handled:
            handled, since = count, now
        elif now - since >= wait:
            return False
        if now >= deadline:
            return False
    return True


@router.post(
    "/flows/{flow_id}/jobs/bulk",
    status_code=202,
    response_class=_R,
    responses={202: {"model": BulkSubmitResponse}},
    summary="Submit many jobs of a flow (one per entry payload) as one map run",
)
async def bulk_submit(
    request: Request, *, flow: Flow = Depends(flow_path), body: BulkSubmitRequest
) -> ApiJSONResponse:
    """202 with one job id per item, in order; see the module description for limits,
    backpressure and how to follow the run."""
    count = len(body.items)
    if count > MAX_BULK_ITEMS:
        raise ApiError(
            413,
            "PAYLOAD_TOO_LARGE",
            f"{count} items in one request; at most {MAX_BULK_ITEMS}: send them in "
            f"{-(-count // MAX_BULK_ITEMS)} requests",
            {"items": count, "max_items": MAX_BULK_ITEMS},
        )
    if count == 0:
        raise ApiError(
            422,
            "VALIDATION_ERROR",
            "items is empty: give at least one entry payload, e.g. {'items': [{'x': 1}]}",
            {"errors": [{"field": "items", "message": "empty list", "type": "too_short"}]},
        )
    rt = get_runtime(request)
    worker = _worker(rt, flow, body)
    routine_id, slot_name = entry_of(worker.flow, body.routine_id, body.slot_name)
    job_ids = [new_job_id() for _ in range(count)]

    first = count if body.max_in_flight is None else min(count, body.max_in_flight)
    # every first item finds room at once: submit them here, no put can wait
    inline = _room(worker, routine_id, slot_name) > first + INLINE_MARGIN
    run = MapRun(
        worker,
        body.items,
        max_in_flight=body.max_in_flight,
        routine_id=routine_id,
        slot_name=slot_name,
        timeout=body.timeout,
        metadata=body.metadata,
        job_ids=job_ids,
        background=not inline,
    )
    if not inline and not await _first_handled(run, first, SUBMIT_WAIT):
        run.cancel(f"bulk submission refused: the entry slot stayed full for {SUBMIT_WAIT} s")
        raise backpressure(
            f"the entry slot {routine_id}.{slot_name} took no item for {SUBMIT_WAIT} s (or "
            f"not all within {MAX_FIRST_WAIT} s: {run.handled} of the first {first} were in); "
            f"the run is cancelled: retry after {RETRY_AFTER} s or lower max_in_flight",
            reason="entry_slot_full",
            map_id=run.map_id,
        )
    _runs(request).add(run)
    base = api_base(request)
    me = f"{base}/flows/{flow.flow_id}/jobs/bulk/{run.map_id}"
    out = {
        "map_id": run.map_id,
        "flow_id": flow.flow_id,
        "worker_id": worker.worker_id,
        "flow_version": worker.flow_version,
        "total": count,
        "submitted": sum(job is not None for job in run.jobs),
        "max_in_flight": body.max_in_flight,
        "job_ids": job_ids,
        "_links": {"self": me, "jobs": f"{base}/jobs?flow_id={flow.flow_id}"},
    }
    response = respond(out, 202)
    response.headers["Location"] = me
    return response


@router.get(
    "/flows/{flow_id}/jobs/bulk/{map_id}",
    response_class=_R,
    responses={200: {"model": BulkStatusResponse}},
    summary="Progress of a bulk submission",
)
async def bulk_status(
    request: Request,
    *,
    flow: Flow = Depends(flow_path),
    map_id: str = Path(..., min_length=1, max_length=64),
) -> ApiJSONResponse:
    """Counts per status and each item's ``job_id``, ``status`` and ``error``
    (``pending`` before its job is submitted)."""
    run = _runs(request).get(map_id)
    if run is None or run.worker.flow_id != flow.flow_id:
        raise ApiError(
            404,
            "NOT_FOUND",
            f"no bulk submission {map_id!r} of flow {flow.flow_id!r} "
            f"(the server keeps the last {KEPT_RUNS})",
            {"flow_id": flow.flow_id, "map_id": map_id},
        )
    state = run.state()
    items = [
        {
            "index": i,
            "job_id": None if job is None else job.job_id,
            "status": status,
            "error": run.errors[i] if job is None else job.error,
        }
        for i, (job, status) in enumerate(zip(run.jobs, run.statuses(), strict=True))
    ]
    return respond(
        {
            "map_id": run.map_id,
            "flow_id": flow.flow_id,
            "total": state["total"],
            "finished": state["finished"],
            "done": state["done"],
            "counts": state["counts"],
            "items": items,
        }
    )
