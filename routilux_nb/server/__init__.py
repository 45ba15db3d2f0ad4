"""The HTTP API of routilux_nb (optional extra ``server``).

>>> from routilux_nb.server import create_app     # doctest: +SKIP
>>> app = create_app()                             # serves routilux_nb.runtime()  # doctest: +SKIP
"""

from __future__ import annotations

from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

if find_spec("fastapi") is None:  # pragma: no cover - depends on installed extras
    raise ImportError(
        'routilux_nb.server needs the server extra: pip install "routilux_nb[server]"'
    )

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["create_app"]


def create_app(runtime: Any = None, **kwargs: Any) -> FastAPI:
    """The FastAPI app serving ``runtime`` (see :func:`routilux_nb.server.app.create_app`)."""
    from .app import create_app as _create_app

    return _create_app(runtime, **kwargs)
