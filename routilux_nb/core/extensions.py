"""Seams through which layers above the engine plug into it, without the engine importing them.

The engine never imports the notebook or the server layer, not even lazily. What it needs
from them is registered here by those layers (or by the top-level package):

* the HTTP server: :func:`register_server_factory` gives :meth:`Runtime.serve` its server;
* stores: anything following :class:`JobStore` can keep a runtime's finished jobs;
  :func:`set_store_opener` lets ``Runtime(store="jobs.db")`` open a file and
  :func:`set_artifact_store_factory` gives a runtime its artifact folder (the store layer
  registers both).

>>> register_server_factory(None)
>>> server_factory() is None
True
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "SERVER_EXTRA_HINT",
    "AtLeast",
    "JobStore",
    "ServerFactory",
    "ServerHandle",
    "make_artifact_store",
    "monitor_factory",
    "otel_installer",
    "open_store",
    "register_server_factory",
    "server_factory",
    "set_artifact_store_factory",
    "set_default_monitor_factory",
    "set_otel_installer",
    "set_store_opener",
    "store_identity",
]

SERVER_EXTRA_HINT = "the HTTP API needs the server extra: pip install 'routilux_nb[server]'"


@runtime_checkable
class ServerHandle(Protocol):
    """A running server: ``running``, ``url`` and ``stop()``."""

    @property
    def running(self) -> bool: ...

    @property
    def url(self) -> str: ...

    def stop(self, timeout: float = 5.0) -> None: ...


#: ``factory(runtime, **options) -> ServerHandle``: serve ``runtime``; the running server is
#: returned when there is one
ServerFactory = Callable[..., ServerHandle]

_server_factory: ServerFactory | None = None


def register_server_factory(factory: ServerFactory | None) -> None:
    """Install the function :meth:`Runtime.serve` calls (``None`` removes it)."""
    global _server_factory
    _server_factory = factory


def server_factory() -> ServerFactory | None:
    """The installed server factory, if any."""
    return _server_factory


class AtLeast(int):
    """A listing's total that is a lower bound: a store counts the matches of a filter by
    creation time or by worker only up to a limit (counting a million would cost more than
    the page), so there are this many matching jobs or more. It is an ``int`` for everything
    else (JSON, arithmetic, comparisons)."""

    def __repr__(self) -> str:
        return f"AtLeast({int(self)})"


@runtime_checkable
class JobStore(Protocol):
    """Where a runtime keeps its jobs (``routilux_nb.store``): the finished ones it evicts from
    memory, or, with a write-through writer (``start_writer()``, optional), every transition.

    Stored jobs come back as read-only objects shaped like a job (``job_id``, ``status``,
    ``to_dict()``, ...).
    """

    def save_job(self, job: Any) -> None:
        """Store a finished job (replacing one with the same ``job_id``)."""

    def save_records(self, records: Iterable[Any], *, owner: str | None = None) -> None:
        """Store several records at once (one transaction where the store has them)."""

    def get_job(self, job_id: str) -> Any | None:
        """The stored job, or ``None``."""

    def list_jobs(
        self,
        *,
        flow_id: str | None = None,
        worker_id: str | None = None,
        status: str | Iterable[str] | None = None,
        limit: int = 100,
        offset: int = 0,
        created_after: float | None = None,
        created_before: float | None = None,
        sort_by: str = "created_at",
        order: str = "desc",
    ) -> tuple[list[Any], int]:
        """One page of stored jobs and the total matching (an :class:`AtLeast` when it is a lower
        bound); newest (``created_at``) first by default."""

    def mark_interrupted(self) -> list[str]:
        """Mark unfinished jobs whose writing process is gone as failed (interrupted); their ids."""

    def count(self) -> int:
        """How many jobs are stored."""

    def stats(self) -> dict[str, Any]:
        """Size and state of the store."""

    def close(self) -> None:
        """Release the store's resources (idempotent)."""


_store_opener: Callable[[str], Any] | None = None
_artifact_factory: Callable[[Any], Any] | None = None


def set_store_opener(opener: Callable[[str], Any] | None) -> None:
    """Let the store layer open ``Runtime(store="jobs.db")`` specs (core never imports it)."""
    global _store_opener
    _store_opener = opener


def set_artifact_store_factory(factory: Callable[[Any], Any] | None) -> None:
    """Let the store layer make a runtime's artifact store on first use."""
    global _artifact_factory
    _artifact_factory = factory


def open_store(spec: Any) -> Any:
    """``spec`` itself, or the store a path or ``"memory"`` names (through the store layer)."""
    if not isinstance(spec, (str, os.PathLike)):
        return spec
    if _store_opener is None:
        raise ValueError(
            f"store={spec!r} needs routilux_nb.store: import routilux_nb (not only routilux_nb.core)"
        )
    return _store_opener(os.fspath(spec))


def make_artifact_store(runtime: Any) -> Any:
    if _artifact_factory is None:
        raise ImportError(
            "artifacts need routilux_nb.store: import routilux_nb (not only routilux_nb.core)"
        )
    return _artifact_factory(runtime)


def store_identity(store: Any) -> Any:
    """What identifies a store: a file's absolute path, else the spec or the object itself."""
    if store is None:
        return None
    path = (
        os.fspath(store) if isinstance(store, (str, os.PathLike)) else getattr(store, "path", None)
    )
    if isinstance(path, str) and path not in ("memory", ":memory:"):
        return os.path.abspath(path)
    return store if path is None or not isinstance(store, (str, os.PathLike)) else path


#: makes every new runtime's monitor (the monitor layer registers it); read by ``Runtime``
monitor_factory: Callable[[], Any] | None = None
#: handles ``Runtime(otel=...)`` (the monitor layer registers it; core never imports OpenTelemetry)
otel_installer: Callable[[Any, Any], None] | None = None


def set_default_monitor_factory(factory: Callable[[], Any] | None) -> None:
    """Let the monitor layer provide every new runtime's monitor (core never imports it)."""
    global monitor_factory
    monitor_factory = factory


def set_otel_installer(installer: Callable[[Any, Any], None] | None) -> None:
    """Let the monitor layer handle ``Runtime(otel=...)``."""
    global otel_installer
    otel_installer = installer
