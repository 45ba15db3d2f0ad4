"""An incoming W3C trace context (``traceparent``) for the jobs submitted on this thread.

The HTTP API wraps ``POST /jobs`` in :func:`incoming_trace`; when OpenTelemetry export is
configured (:mod:`routilux_nb.monitor.otel`) the job's span becomes a child of the caller's
span. This module imports nothing from OpenTelemetry: without export it costs a
thread-local write per request.

>>> with incoming_trace("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"):
...     current_incoming()[0][:2]
'00'
>>> current_incoming() is None
True
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["current_incoming", "incoming_trace"]

_local = threading.local()
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
    prev = getattr(_local, "incoming", None)
    _local.incoming = (value, tracestate if isinstance(tracestate, str) else None)
    try:
        yield
    finally:
        _local.incoming = prev


def current_incoming() -> tuple[str, str | None] | None:
    """``(traceparent, tracestate)`` set by :func:`incoming_trace` on this thread, if any."""
    return getattr(_local, "incoming", None)
