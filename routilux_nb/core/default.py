"""The kernel's default runtime: ``routilux_nb.runtime()``.

One runtime per kernel is the natural default: the widgets and the HTTP server are views of
it. It is created on first use and shut down at exit.
"""

from __future__ import annotations

import atexit
import threading
from typing import Any

from .errors import StateError
from .extensions import store_identity
from .runtime import Runtime

__all__ = ["default_runtime"]

_default: Runtime | None = None
_default_lock = threading.Lock()


def default_runtime(*, store: Any = None) -> Runtime:
    """The process's default runtime, created on first use and shut down at exit.

    ``rx.runtime(store="jobs.db")`` makes it keep every job in that SQLite file (write-through,
    see :mod:`routilux_nb.store`); after a kernel restart the same call lists yesterday's jobs.
    Calling it again with the same store (a re-run cell) returns the same runtime.
    It records steps (``record_steps=True``), so any job can be forked: ``job.fork(step)``.
    """
    global _default
    with _default_lock:
        if _default is not None and not _default.closed:
            if store is not None and store_identity(store) != store_identity(_default.store):
                raise StateError(
                    f"the default runtime is already running with store={store_identity(_default.store)!r}; "
                    f"to use {store_identity(store)!r}, call rx.runtime().shutdown() first (or restart the "
                    "kernel), or make a separate Runtime(store=...)"
                )
            return _default
        _default = Runtime(store=store, record_steps=True)
        atexit.register(_default.shutdown, wait=False)
        return _default
