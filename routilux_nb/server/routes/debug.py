"""The debug session of a job: where it stopped, its variables and call stack, and how it goes on.

Inspecting or continuing a job that is not stopped at a breakpoint answers 409 ``INVALID_STATE``.
Variables are edited by name (``payload``, ``payload.input.0.value``, ``job_data.key``); values
are JSON, never evaluated.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from routilux_nb.core.job import JobContext

from ..deps import job_monitor, job_path
from ..errors import ApiError, ApiJSONResponse, respond
from ..models import DebugActionResponse, DebugVariableRequest

__all__ = ["router"]

router = APIRouter(tags=["debug"])
_R = ApiJSONResponse


async def _session(job: JobContext = Depends(job_path)) -> tuple[JobContext, Any]:
    """The job of the path and its debug session (409 without monitoring)."""
    job_monitor(job)
    return job, job.debug


Session = Depends(_session)


@router.get("/jobs/{job_id}/debug", response_class=_R, summary="Debug session of a job")
async def debug_session(session_of: tuple[JobContext, Any] = Session) -> ApiJSONResponse:
    """Location, variables (summarized), call stack and how many items are parked."""
    _, session = session_of
    return respond(session.to_dict())


@router.get(
    "/jobs/{job_id}/debug/variables", response_class=_R, summary="Variables at the breakpoint"
)
async def debug_variables(session_of: tuple[JobContext, Any] = Session) -> ApiJSONResponse:
    job, session = session_of
    return respond(
        {"job_id": job.job_id, "location": session.location(), "variables": session.variables()}
    )


@router.put(
    "/jobs/{job_id}/debug/variables", response_class=_R, summary="Edit a variable before continuing"
)
async def set_debug_variable(
    body: DebugVariableRequest, session_of: tuple[JobContext, Any] = Session
) -> ApiJSONResponse:
    job, session = session_of
    if not session.is_paused:
        raise ApiError(
            409,
            "INVALID_STATE",
            f"job {job.job_id!r} is {job.status} and not stopped at a breakpoint; nothing to edit",
            {"job_id": job.job_id, "status": job.status},
        )
    try:
        session.set_variable(body.name, body.value)
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        raise ApiError(
            422, "VALIDATION_ERROR", f"cannot set {body.name!r}: {message}", {"name": body.name}
        ) from None
    return respond(
        {
            "job_id": job.job_id,
            "name": body.name,
            "value": body.value,
            "variables": session.variables(),
        }
    )


async def _call_stack(session_of: tuple[JobContext, Any] = Session) -> ApiJSONResponse:
    job, session = session_of
    return respond({"job_id": job.job_id, "call_stack": session.call_stack()})


router.add_api_route(
    "/jobs/{job_id}/debug/call_stack",
    _call_stack,
    methods=["GET"],
    response_class=_R,
    summary="Call stack at the breakpoint",
    name="debug_call_stack",
)
router.add_api_route(
    "/jobs/{job_id}/debug/call-stack",
    _call_stack,
    methods=["GET"],
    response_class=_R,
    include_in_schema=False,
    name="debug_call_stack_alias",
)


def _action(action: str) -> Any:
    async def run(session_of: tuple[JobContext, Any] = Session) -> ApiJSONResponse:
        job, session = session_of
        session.act(action)
        return respond(
            {
                "job_id": job.job_id,
                "action": action,
                "status": job.status,
                "location": session.location(),
            }
        )

    run.__name__ = f"debug_{action}"
    run.__doc__ = {
        "resume": "Release everything parked; the job runs on.",
        "step_over": "Run the parked work, then stop at the job's next activation.",
        "step_into": "Run the parked work, then stop where what it emits is consumed.",
        "drop": "Discard the parked item and let the job continue.",
    }[action]
    return run


for _name in ("resume", "step_over", "step_into", "drop"):
    _handler = _action(_name)
    router.add_api_route(
        f"/jobs/{{job_id}}/debug/{_name}",
        _handler,
        methods=["POST"],
        response_class=_R,
        responses={200: {"model": DebugActionResponse}},
        name=f"debug_{_name}",
        summary=_name.replace("_", " ").capitalize(),
    )
    if "_" in _name:
        router.add_api_route(
            f"/jobs/{{job_id}}/debug/{_name.replace('_', '-')}",
            _handler,
            methods=["POST"],
            response_class=_R,
            include_in_schema=False,
            name=f"debug_{_name}_alias",
        )
