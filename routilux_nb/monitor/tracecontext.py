"""An incoming W3C trace context (``traceparent``) for the jobs submitted in this context.

The HTTP API wraps ``POST /jobs`` in :func:`incoming_trace`; when OpenTelemetry export is
configured (:mod:`routilux_nb.monitor.otel`) the job's span becomes a child of the caller's
span. The value is a context variable, so it follows the request wherever the submission
runs: on the event loop, or on a thread started with the request's context
(``contextvars.copy_context().run``, as ``anyio.to_thread.run_sync`` does). This module
imports nothing from OpenTelemetry: without export it costs a context-variable write per
request.

>>> with incoming_trace("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"):
...     current_incoming()[0][:2]
'00'
>>> current_incoming() is None
True
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["current_incoming", "incoming_trace"]

_incoming: ContextVar[tuple[str, str | None] | None] = ContextVar(
    "routilux_incoming_trace", default=None
)
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")


@contextmanager
def incoming_trace(traceparent: str | None, tracestate: str | None = None) -> Iterator[None]:
    """Make ``traceparent`` (a W3C header value) the parent of jobs submitted inside.

    A missing or malformed value is ignored (the job starts a trace of its own).
    """
    value = traceparent.strip().lower() if isinstance(traceparent, str) else ""
    if not _TRACEPARENT.match(value):
        yield
        return
    token = _incoming.set((value, tracestate if isinstance(tracestate, str) else None))
    try:
        yield
    finally:
        _incoming.reset(token)


def current_incoming() -> tuple[str, str | None] | None:
    """``(traceparent, tracestate)`` set by :func:`incoming_trace` in this context, if any."""
    return _incoming.get()
