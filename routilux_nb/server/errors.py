"""The error envelope of the HTTP API and the mapping of engine exceptions onto it.

Every error answers ``{"error": {"code", "message", "details"}}`` with a stable ``code``:
404 for unknown ids (``NotFound`` from the engine), 409 for operations that do not fit the
current state, 422 for input that cannot be used, 413 for bodies over the limit, 503 when full.
Bad input never yields a 500; an engine bug does (logged with its traceback).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from routilux_nb.core import jsonsafe
from routilux_nb.core.errors import (
    BackpressureTimeout,
    BreakpointNotFound,
    DSLError,
    FlowError,
    FlowNotFound,
    JobNotFound,
    JobStateError,
    NotFound,
    RegistryError,
    RoutiluxError,
    StateError,
    UnknownEventError,
    UnknownRoutineError,
    UnknownSlotError,
    WorkerNotFound,
    WorkerNotRunningError,
)
from routilux_nb.core.expressions import ExpressionError
from routilux_nb.core.ids import InvalidIdError
from routilux_nb.core.limits import DocumentLimitError

__all__ = [
    "CODES",
    "ApiError",
    "ApiJSONResponse",
    "error_response",
    "install_error_handlers",
    "respond",
    "unknown_reference",
]

log = logging.getLogger(__name__)

#: stable error codes and their HTTP status
CODES: dict[str, int] = {
    "JOB_NOT_FOUND": 404,
    "WORKER_NOT_FOUND": 404,
    "FLOW_NOT_FOUND": 404,
    "ROUTINE_NOT_FOUND": 404,
    "SLOT_NOT_FOUND": 404,
    "EVENT_NOT_FOUND": 404,
    "BREAKPOINT_NOT_FOUND": 404,
    "CONNECTION_NOT_FOUND": 404,
    "NOT_FOUND": 404,
    "FLOW_ALREADY_EXISTS": 409,
    "JOB_ALREADY_EXISTS": 409,
    "WORKER_ALREADY_EXISTS": 409,
    "ROUTINE_ALREADY_EXISTS": 409,
    "WORKER_NOT_RUNNING": 409,
    "INVALID_STATE": 409,
    "MONITORING_DISABLED": 409,
    "UNKNOWN_REFERENCE": 409,
    "VALIDATION_ERROR": 422,
    "INVALID_DSL": 422,
    "UNSAFE_EXPRESSION": 422,
    "PAYLOAD_TOO_LARGE": 413,
    "UNAUTHORIZED": 401,
    "METHOD_NOT_ALLOWED": 405,
    "ORIGIN_NOT_ALLOWED": 403,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "HOST_NOT_ALLOWED": 421,
    "BACKPRESSURE": 503,
    "INTERNAL_ERROR": 500,
}


class ApiError(Exception):
    """An error answered with the envelope: ``raise ApiError(404, "JOB_NOT_FOUND", "...")``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details or {}
        self.headers = headers


class ApiJSONResponse(JSONResponse):
    """JSON that never fails to render: any value goes through the package's JSON sanitizer
    (:mod:`routilux_nb.core.jsonsafe`), so job data JSON cannot carry never breaks a read."""

    def render(self, content: Any) -> bytes:
        return jsonsafe.dumps(content).encode("utf-8")


def unknown_reference(message: str, details: dict[str, Any] | None = None) -> ApiError:
    """409 ``UNKNOWN_REFERENCE``: the body names a part the addressed resource does not have
    (a routine, event or slot of the flow in the path, a routine class); 404 stays reserved for
    the resource the path names."""
    return ApiError(409, "UNKNOWN_REFERENCE", message, details)


def respond(content: Any, status_code: int = 200) -> ApiJSONResponse:
    """A JSON answer (routes return this directly, so nothing re-encodes it)."""
    return ApiJSONResponse(content, status_code=status_code)


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> ApiJSONResponse:
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return ApiJSONResponse(body, status_code=status, headers=headers)


def _message(exc: BaseException) -> str:
    if isinstance(exc, KeyError) and not isinstance(exc, RoutiluxError) and exc.args:
        return str(exc.args[0])
    return str(exc) or type(exc).__name__


_NOT_FOUND_CODES: tuple[tuple[type[NotFound], str], ...] = (
    (JobNotFound, "JOB_NOT_FOUND"),
    (WorkerNotFound, "WORKER_NOT_FOUND"),
    (FlowNotFound, "FLOW_NOT_FOUND"),
    (BreakpointNotFound, "BREAKPOINT_NOT_FOUND"),
    (UnknownRoutineError, "ROUTINE_NOT_FOUND"),
    (UnknownSlotError, "SLOT_NOT_FOUND"),
    (UnknownEventError, "EVENT_NOT_FOUND"),
)


def map_exception(exc: BaseException) -> tuple[int, str, dict[str, Any]] | None:
    """``(status, code, details)`` for an exception that is the client's doing, ``None`` for any
    other: a bare ``ValueError``/``TypeError``/``KeyError`` from the engine is a bug (500, logged),
    not bad input; routes turn what they know to be input errors into :class:`ApiError`."""
    if isinstance(exc, DSLError):
        return 422, "INVALID_DSL", {"line": exc.line, "reason": exc.reason}
    if isinstance(exc, ExpressionError):
        return 422, "UNSAFE_EXPRESSION", {}
    if isinstance(exc, NotFound):
        code = next((c for t, c in _NOT_FOUND_CODES if isinstance(exc, t)), "NOT_FOUND")
        details = {
            k: v for k, v in vars(exc).items() if k in ("routine_id", "slot_name", "event_name")
        }
        return 404, code, details
    if isinstance(exc, RegistryError):
        return 422, "VALIDATION_ERROR", {"object_name": exc.name}
    if isinstance(exc, BackpressureTimeout):
        return 503, "BACKPRESSURE", {"retry_after": 1}
    if isinstance(exc, WorkerNotRunningError):
        return 409, "WORKER_NOT_RUNNING", {}
    if isinstance(exc, (JobStateError, StateError)):
        return 409, "INVALID_STATE", {}
    if isinstance(exc, (FlowError, InvalidIdError, DocumentLimitError)):
        return 422, "VALIDATION_ERROR", {}
    return None


def _validation_details(exc: RequestValidationError) -> dict[str, Any]:
    errors = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        field = ".".join(p for p in loc if p not in ("body", "query", "path", "header"))
        errors.append(
            {
                "field": field or ".".join(loc),
                "location": loc[0] if loc else None,
                "message": str(err.get("msg", "")),
                "type": str(err.get("type", "")),
            }
        )
    return {"errors": errors}


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)


async def _request_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    details = _validation_details(exc)
    first = details["errors"][0] if details["errors"] else None
    message = (
        f"invalid request: {first['field']}: {first['message']}" if first else "invalid request"
    )
    return error_response(422, "VALIDATION_ERROR", message, details)


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    code = {
        404: "NOT_FOUND",
        405: "METHOD_NOT_ALLOWED",
        401: "UNAUTHORIZED",
        413: "PAYLOAD_TOO_LARGE",
        400: "VALIDATION_ERROR",
        422: "VALIDATION_ERROR",
    }.get(status, "HTTP_ERROR")
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    if status == 404 and message == "Not Found":
        message = f"no route {request.method} {request.url.path}"
    elif status == 405:
        message = f"method {request.method} is not allowed on {request.url.path}"
    headers = dict(exc.headers) if exc.headers else None
    if status == 405:  # every method of the path, not only those of the first route matched
        from .options import allowed_methods

        methods = allowed_methods(request.app, {**request.scope, "path": request.url.path})
        headers = {**(headers or {}), "Allow": ", ".join(methods)}
        return error_response(status, code, message, {"allowed_methods": methods}, headers)
    return error_response(status, code, message, {}, headers)


async def _engine_error(request: Request, exc: Exception) -> Response:
    mapped = map_exception(exc)
    if mapped is None:
        log.exception("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(500, "INTERNAL_ERROR", f"internal error ({type(exc).__name__})")
    status, code, details = mapped
    headers = {"Retry-After": "1"} if status == 503 else None
    return error_response(status, code, _message(exc), details, headers)


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error with the envelope."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    for exc_type in (RoutiluxError, ExpressionError, InvalidIdError, DocumentLimitError):
        app.add_exception_handler(exc_type, _engine_error)
    app.add_exception_handler(Exception, _engine_error)
