"""Gives :meth:`Runtime.serve` its HTTP server, imported only when first asked for.

The engine never imports the server layer; the top-level package registers this factory
in its place. Without the ``server`` extra, serving raises an ``ImportError`` that names it.
"""

from __future__ import annotations

from typing import Any

from .core.extensions import SERVER_EXTRA_HINT, ServerHandle, register_server_factory

__all__ = ["serve_lazily"]


def serve_lazily(runtime: Any, **options: Any) -> ServerHandle:
    """Import the embedded server, then serve ``runtime`` with it."""
    try:
        from .server.embedded import serve_runtime
    except ImportError as exc:
        raise ImportError(f"{SERVER_EXTRA_HINT} ({exc})") from exc
    return serve_runtime(runtime, **options)


register_server_factory(serve_lazily)
