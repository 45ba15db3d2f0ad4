"""Submitting jobs over HTTP without ever blocking the server.

A submission puts the job's first item into its entry slot; when that slot is full the
engine waits for room (backpressure, up to the slot's ``put_timeout``). Over HTTP nobody may
hold the server that long, so:

* references are checked first on the event loop (unknown names answer 404 at once);
* the engine call runs on a worker thread of a limiter reserved for submissions
  (:data:`SUBMIT_CONCURRENCY` at a time); a submission that cannot get a place within
  :data:`SUBMIT_WAIT` seconds is answered 503 ``BACKPRESSURE``;
* a submission still waiting for room after :data:`SUBMIT_WAIT` seconds is refused: the job
  is marked ``failed`` with ``submission refused: ...`` (the record a refused submission
  leaves in the Python API too, where ``BackpressureTimeout`` is raised) and the answer is
  503 ``BACKPRESSURE`` with ``Retry-After`` and the refused job's id.

Health probes, metrics and reads never wait on this: they run on the event loop or on the
default thread limiter, not on the submissions' one.

The common case skips the thread: when the target is an entry routine (no connection feeds
it), no submission thread of this server is in progress for the worker, and its slot has more
than :data:`INLINE_MARGIN` free places, putting one item cannot wait for room, so the engine
call runs on the event loop directly (a thread hand-off costs more than the call itself).
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import secrets
import time
import weakref
from typing import Any

import anyio

from routilux_nb.core.errors import DSLError, JobStateError
from routilux_nb.core.flow import Flow
from routilux_nb.core.flow_checks import entry_hint
from routilux_nb.core.job import JobContext
from routilux_nb.core.runtime import Runtime
from routilux_nb.core.worker import Worker

from .deps import flow_or_404, routine_or_404, slot_or_404, worker_or_404
from .errors import ApiError
from .models import JobSubmitRequest

__all__ = [
    "RETRY_AFTER",
    "SUBMIT_CONCURRENCY",
    "SUBMIT_WAIT",
    "backpressure",
    "submit_job",
    "submit_nonblocking",
]

SUBMIT_WAIT = 0.5  #: seconds a submission may wait for room before it is refused
SUBMIT_CONCURRENCY = 32  #: submissions in progress at once (each on a thread)
RETRY_AFTER = 1  #: seconds a refused client is told to wait
INLINE_MARGIN = 64  #: free places an entry slot must have for a submission to run on the event loop

_limiters: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, tuple[anyio.CapacityLimiter, asyncio.Semaphore]
] = weakref.WeakKeyDictionary()
_in_flight: dict[int, int] = {}  # id(worker) -> submission threads running (event loop only)
_prefix = secrets.token_hex(4)
_counter = itertools.count(1)


def _limiter() -> tuple[anyio.CapacityLimiter, asyncio.Semaphore]:
    """The submissions' thread limiter of this event loop, and the gate in front of it (held
    until the thread ends, also when the answer was given before)."""
    loop = asyncio.get_running_loop()
    pair = _limiters.get(loop)
    if pair is None:
        pair = _limiters[loop] = (
            anyio.CapacityLimiter(SUBMIT_CONCURRENCY),
            asyncio.Semaphore(SUBMIT_CONCURRENCY),
        )
    return pair


def new_job_id() -> str:
    """A job id chosen before submitting, so a refused submission can be found and failed."""
    return f"job-{_prefix}{next(_counter):08x}"


def backpressure(message: str, **details: Any) -> ApiError:
    """503 ``BACKPRESSURE`` with ``Retry-After``."""
    return ApiError(
        503,
        "BACKPRESSURE",
        message,
        {"retry_after": RETRY_AFTER, **details},
        headers={"Retry-After": str(RETRY_AFTER)},
    )


def can_run_inline(worker: Any, routine_id: str, slot_name: str) -> bool:
    """True when putting one item into ``routine_id.slot_name`` cannot wait for room (see above)."""
    if _in_flight.get(id(worker)):
        return False
    if any(c.target_routine == routine_id for c in list(worker.flow.connections)):
        return False
    for status in worker.queue_status().get(routine_id, ()):
        if status["slot_name"] == slot_name:
            return bool(status["max_length"] - status["unconsumed_count"] > INLINE_MARGIN)
    return False


async def submit_nonblocking(
    rt: Runtime,
    submit: Any,
    job_id: str | None,
    *args: Any,
    wait: float = SUBMIT_WAIT,
    inline: bool = False,
    **kwargs: Any,
) -> JobContext:
    """``submit(*args, job_id=..., **kwargs)`` on a submission thread, answered within ``wait``
    seconds: the job, or :func:`backpressure` (the job refused and marked failed)."""
    if inline:  # checked by can_run_inline just before: no await since, nothing can fill the slot
        return submit(*args, job_id=job_id, **kwargs)  # type: ignore[no-any-return]
    limiter, gate = _limiter()
    started = time.monotonic()
    acquired = False
    with anyio.move_on_after(wait):
        await gate.acquire()
        acquired = True
    if not acquired:
        raise backpressure(
            f"{SUBMIT_CONCURRENCY} submissions are already waiting for room; retry later",
            reason="submissions_waiting",
        )
    job_id = job_id or new_job_id()
    ctx = contextvars.copy_context()  # the request's (its incoming trace context) on the thread
    task = asyncio.ensure_future(
        anyio.to_thread.run_sync(
            lambda: ctx.run(submit, *args, job_id=job_id, **kwargs), limiter=limiter
        )
    )
    key = id(getattr(submit, "__self__", submit))
    _in_flight[key] = _in_flight.get(key, 0) + 1

    def finished(_: object) -> None:
        gate.release()
        _done(key)

    task.add_done_callback(finished)
    done, _ = await asyncio.wait({task}, timeout=max(0.0, wait - (time.monotonic() - started)))
    if done:
        result: JobContext = task.result()  # raises what the engine raised
        return result
    job = _find(rt, job_id)
    reason = (
        f"submission refused: the entry slot stayed full for {wait} s (backpressure); "
        f"retry after {RETRY_AFTER} s"
    )
    if job is not None:
        try:
            job.fail(reason)
        except JobStateError:  # it finished meanwhile: the submission went through after all
            finished_job: JobContext = await task
            return finished_job
    task.add_done_callback(_consume)
    raise backpressure(reason, job_id=job_id, reason="entry_slot_full")


def _done(key: int) -> None:
    left = _in_flight.get(key, 1) - 1
    if left:
        _in_flight[key] = left
    else:
        _in_flight.pop(key, None)


def _find(rt: Runtime, job_id: str) -> JobContext | None:
    try:
        return rt.get_job(job_id)
    except KeyError:
        return None


def _consume(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()  # a refused submission may end in BackpressureTimeout: already answered


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
        if req.flow_version is not None and req.flow_version != worker.flow_version:
            raise ApiError(
                409,
                "INVALID_STATE",
                f"worker {worker.worker_id!r} runs version {worker.flow_version} of flow "
                f"{worker.flow_id!r}, not version {req.flow_version}; leave out worker_id to "
                "run that version on a worker of its own",
                {
                    "worker_id": worker.worker_id,
                    "flow_id": worker.flow_id,
                    "flow_version": worker.flow_version,
                },
            )
    elif req.flow_id is None:
        raise ApiError(
            422,
            "VALIDATION_ERROR",
            "give flow_id (or the worker_id of a running worker)",
            {"errors": [{"field": "flow_id", "message": "Field required", "type": "missing"}]},
        )
    elif req.flow_version is not None:
        flow = flow_at_version(rt, req.flow_id, req.flow_version)
    else:
        flow = flow_or_404(rt, req.flow_id)
    routine_id, slot_name = entry_of(flow, req.routine_id, req.slot_name)
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
    return (worker if worker is not None else rt.worker_for(flow)), routine_id, slot_name


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


def entry_of(flow: Flow, routine_id: str | None, slot_name: str | None) -> tuple[str, str]:
    """The entry routine and slot a submission names or implies: 404 for unknown names, 409
    when one must be chosen (with the forgotten-connect hint of :mod:`.flow_checks`)."""
    if routine_id is not None:
        routine = routine_or_404(flow, routine_id)
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
    if slot_name is not None:
        slot_or_404(routine, slot_name)
        return routine.routine_id, slot_name
    slots = list(routine.slot_specs)
    if len(slots) != 1:
        raise ApiError(
            409,
            "INVALID_STATE",
            f"routine {routine.routine_id!r} has slots {slots}: say which one with slot_name",
            {"routine_id": routine.routine_id, "slots": slots},
        )
    return routine.routine_id, slots[0]


def flow_at_version(rt: Runtime, flow_id: str, version: int) -> Flow:
    """Version ``version`` of a flow: 404 ``FLOW_NOT_FOUND`` for a flow without versions, 404
    ``VERSION_NOT_FOUND`` naming the versions there are, 409 ``VERSION_UNAVAILABLE`` when the
    version cannot be rebuilt here (a function routine of it is not registered)."""
    versions = [v.version for v in rt.flow_versions.list(flow_id)]
    if not versions:
        raise ApiError(
            404,
            "FLOW_NOT_FOUND",
            f"Flow {flow_id!r} has no versions (it was never registered)",
            {"flow_id": flow_id},
        )
    if version not in versions:
        raise ApiError(
            404,
            "VERSION_NOT_FOUND",
            f"Flow {flow_id!r} has no version {version}; its versions: "
            f"{', '.join(map(str, versions))} (GET /api/v1/flows/{flow_id}/versions)",
            {"flow_id": flow_id, "flow_version": version, "versions": versions},
        )
    try:
        return rt.flow_version(flow_id, version)
    except DSLError as exc:
        raise ApiError(
            409,
            "VERSION_UNAVAILABLE",
            f"version {version} of flow {flow_id!r} cannot run here: {exc}",
            {"flow_id": flow_id, "flow_version": version},
        ) from exc
