"""The error envelope and the error statuses every operation may answer."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = ["ERROR_RESPONSES", "ErrorBody", "ErrorResponse"]


class ErrorBody(BaseModel):
    code: str = Field(examples=["JOB_NOT_FOUND"])
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorResponse(BaseModel):
    error: ErrorBody


_ERROR_DESCRIPTIONS = {
    400: "Malformed request (e.g. a body that is not JSON)",
    401: "Missing or wrong X-API-Key",
    403: "Cross-site request from an origin not allowed",
    404: "Unknown id, or a reference to something that does not exist",
    405: "Method not allowed on this path (see the Allow header)",
    409: "The operation does not fit the current state",
    413: "Request body too large",
    415: "State-changing request whose body is not JSON",
    421: "Host not served here",
    422: "Invalid input (the message names the field and what is expected)",
    500: "Internal error (an engine bug, logged with its traceback)",
    503: "Full: retry after the Retry-After header's seconds",
}
#: the error statuses every operation may answer, all with the error envelope
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in _ERROR_DESCRIPTIONS.items()
}
