"""Seams through which layers above the engine plug into it, without the engine importing them.

The engine never imports the notebook or the server layer, not even lazily. What it needs
from them is registered here by those layers (or by the top-level package):

* the HTTP server: :func:`register_server_factory` gives :meth:`Runtime.serve` its server;
* stores: anything following :class:`JobStore` can keep a runtime's finished jobs.

>>> register_server_factory(None)
>>> server_factory() is None
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "SERVER_EXTRA_HINT",
    "JobStore",
    "ServerFactory",
    "ServerHandle",
    "register_server_factory",
    "server_factory",
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


@runtime_checkable
class JobStore(Protocol):
    """Where a runtime keeps the finished jobs it evicts from memory (``routilux_nb.store``).

    Stored jobs come back as read-only objects shaped like a job (``job_id``, ``status``,
    ``to_dict()``, ...).
    """

    def save_job(self, job: Any) -> None:
        """Store a finished job (replacing one with the same ``job_id``)."""

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
    ) -> tuple[list[Any], int]:
        """One page of stored jobs, newest first, and the total matching."""

    def count(self) -> int:
        """How many jobs are stored."""

    def stats(self) -> dict[str, Any]:
        """Size and state of the store."""

    def close(self) -> None:
        """Release the store's resources (idempotent)."""
