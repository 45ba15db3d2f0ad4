"""Recorded steps of a job, forking a job from one of them, and comparing two jobs.

``GET /jobs/{id}/steps`` lists what each activation started with (``job.steps``),
``GET /jobs/{id}/steps/{step}`` gives one with its items and data (to edit before forking),
``POST /jobs/{id}/fork`` starts a new job at a step (202), ``GET /jobs/{a}/compare/{b}`` lists
what differs (see :mod:`routilux_nb.core.forking` and :mod:`routilux_nb.core.compare`).

Errors: 404 ``JOB_NOT_FOUND`` / ``STEP_NOT_FOUND``; 409 ``STEP_DROPPED`` (past the recording
cap), ``STEPS_NOT_RECORDED`` (the runtime records none); 422 ``VALIDATION_ERROR`` for inputs
or data that cannot be delivered.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request

from routilux_nb.core.errors import JobStateError, StepDropped, StepNotFound
from routilux_nb.core.forking import InvalidStepInputs, StepsNotRecorded

from ..deps import api_base, get_runtime, job_path, links_for_job
from ..errors import ApiError, ApiJSONResponse, respond
from ..models import JobResponse
from ..step_models import (
    STEP_ERRORS,
    CompareResponse,
    ForkRequest,
    StepDetail,
    StepListResponse,
)

__all__ = ["router"]

router = APIRouter(tags=["steps"])
_R = ApiJSONResponse


@contextmanager
def _step_errors(job_id: str) -> Iterator[None]:
    """The engine's step errors as the API's error envelope."""
    try:
        yield
    except StepNotFound as exc:
        raise ApiError(404, "STEP_NOT_FOUND", str(exc), {"job_id": job_id}) from None
    except StepDropped as exc:
        raise ApiError(
            409, "STEP_DROPPED", str(exc), {"job_id": job_id, "reason": "dropped past the cap"}
        ) from None
    except InvalidStepInputs as exc:
        raise ApiError(422, "VALIDATION_ERROR", str(exc), {"job_id": job_id}) from None
    except StepsNotRecorded as exc:
        raise ApiError(409, "STEPS_NOT_RECORDED", str(exc), {"job_id": job_id}) from None


def _log(request: Request, job: Any) -> Any:
    log = get_runtime(request).step_log(job)
    if log is None:
        raise ApiError(
            409,
            "STEPS_NOT_RECORDED",
            f"job {job.job_id!r} has no recorded steps: the runtime records none (create it "
            "with Runtime(record_steps=True)), or they were not kept",
            {"job_id": job.job_id},
        )
    return log


@router.get(
    "/jobs/{job_id}/steps",
    response_class=_R,
    responses={200: {"model": StepListResponse}, **STEP_ERRORS},
    summary="List a job's recorded steps",
)
async def list_steps(request: Request, *, job: Any = Depends(job_path)) -> ApiJSONResponse:
    """What each activation of the job started with (oldest first, within the cap): the
    routine, item counts and sizes, status and duration; the ``step`` id is what a fork takes."""
    log = _log(request, job)
    steps = log.list()
    return respond(
        {
            "job_id": job.job_id,
            "steps": [s.to_dict(payloads=False) for s in steps],
            "total": len(steps),
            "dropped": log.dropped,
            "dropped_bytes": log.dropped_bytes,
            "max_steps": log.limits.max_steps,
            "max_bytes": log.limits.max_bytes,
        }
    )


@router.get(
    "/jobs/{job_id}/steps/{step}",
    response_class=_R,
    responses={200: {"model": StepDetail}, **STEP_ERRORS},
    summary="One recorded step, with its items and data",
)
async def get_step(
    request: Request,
    *,
    job: Any = Depends(job_path),
    step: int = Path(..., description="the activation id (the step column)"),
) -> ApiJSONResponse:
    """The items each slot delivered and the job's data as the activation started."""
    log = _log(request, job)
    with _step_errors(job.job_id):
        found = log.find(job.job_id, step=step)
    return respond(found.to_dict())


@router.post(
    "/jobs/{job_id}/fork",
    response_class=_R,
    status_code=202,
    responses={202: {"model": JobResponse}, **STEP_ERRORS},
    summary="Start a new job at a recorded step of this one",
)
async def fork_job(
    request: Request,
    *,
    job: Any = Depends(job_path),
    body: ForkRequest | None = Body(None),
) -> ApiJSONResponse:
    """The routines before the step do not run again; the step's routine runs the flow's
    current code with the recorded items and data, or ``inputs``/``data`` given here. The new
    job's metadata has ``forked_from``, ``forked_step`` and ``forked_seq``. ``step`` may also
    name an activation parked at a breakpoint (its ``act_id``: ``job.parked[i].act_id``)."""
    rt = get_runtime(request)
    body = body or ForkRequest.model_validate({})
    with _step_errors(job.job_id):
        try:
            new = rt.fork(
                job,
                body.step,
                seq=body.seq,
                inputs=body.inputs,
                data=body.data,
                job_id=body.job_id,
                metadata=body.metadata,
            )
        except JobStateError as exc:  # e.g. a job id in use
            if isinstance(exc, StepsNotRecorded):
                raise
            raise ApiError(409, "INVALID_STATE", str(exc), {"job_id": job.job_id}) from None
    d = new.to_dict(include_data=False)
    d["_links"] = links_for_job(api_base(request), new)
    return respond(d, status_code=202)


@router.get(
    "/jobs/{job_id}/compare/{other_id}",
    response_class=_R,
    responses={200: {"model": CompareResponse}, **STEP_ERRORS},
    summary="What differs between two jobs",
)
async def compare_jobs(
    request: Request,
    *,
    job: Any = Depends(job_path),
    other_id: str = Path(..., description="the job to compare with"),
    limit: int = Query(1000, ge=0, le=100_000, description="differences listed at most"),
) -> ApiJSONResponse:
    """Per routine, activations and the first differing emitted payload; per key, the final
    data. Identical jobs answer ``identical: true`` and no differences."""
    other = await job_path(request, other_id)
    result = get_runtime(request).compare(job, other).to_dict()
    result["differences"] = result["differences"][:limit]
    return respond(result)
