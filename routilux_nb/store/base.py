"""What every job store shares: the :class:`JobStore` protocol and the :class:`StoredJob` record.

A finished job is stored as one JSON document (never a pickle, so loading one runs no code);
values JSON cannot hold are kept as their ``repr``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from routilux_nb.core.errors import JobStateError
from routilux_nb.core.job import job_fields

__all__ = ["JobStore", "StoredJob", "decode_job", "encode_job", "jsonable", "status_set"]

_FIELDS = ("job_id", "worker_id", "flow_id", "status", "created_at", "started_at", "completed_at",
           "metadata", "data", "error", "error_type", "error_traceback", "cancelled_at", "cancel_reason")


def jsonable(value: Any) -> Any:
    """``value`` with everything JSON cannot hold replaced by its ``repr`` (keys become strings)."""
    return _jsonable(value, set())


def _jsonable(value: Any, active: set[int]) -> Any:
    if value is None or type(value) in (str, bool, int, float):
        return value
    if isinstance(value, (bool, int, float)):  # e.g. IntEnum, numpy.float64: keep the number
        return (bool if isinstance(value, bool) else int if isinstance(value, int) else float)(value)
    if isinstance(value, str):
        return str.__str__(value)
    if type(value) in (dict, list, tuple):
        if id(value) in active:  # a container holding itself
            return repr(value)
        active.add(id(value))
        try:
            if isinstance(value, dict):
                return {str.__str__(k) if isinstance(k, str) else repr(k): _jsonable(v, active) for k, v in value.items()}
            return [_jsonable(v, active) for v in value]
        finally:
            active.discard(id(value))
    return repr(value)


@dataclass(frozen=True)
class StoredJob:
    """A finished job read back from a store: its fields, ``to_dict()`` and ``wait()``.

    It answers like a finished :class:`~routilux_nb.core.job.JobContext` (so
    ``Runtime.get_job`` can return it); it has no worker, trace or logs, and cannot be
    paused, resumed, cancelled, completed or failed.
    """

    job_id: str
    worker_id: str | None
    flow_id: str | None
    status: str
    created_at: float
    started_at: float | None = None
    completed_at: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    error_type: str | None = None
    error_traceback: str | None = None
    cancelled_at: float | None = None
    cancel_reason: str | None = None

    #: no monitoring data survives storage
    monitor = None

    @classmethod
    def from_job(cls, job: Any) -> StoredJob:
        """A record of ``job`` (a JobContext or anything with its fields), data made JSON-safe."""
        values: dict[str, Any] = {name: getattr(job, name, None) for name in _FIELDS}
        values["metadata"] = jsonable(dict(values["metadata"] or {}))
        values["data"] = jsonable(dict(values["data"] or {}))
        return cls(**values)

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> StoredJob:
        """The record a stored document describes (unknown keys are ignored)."""
        values: dict[str, Any] = {name: doc[name] for name in _FIELDS if name in doc}
        return cls(**values)

    def to_doc(self) -> dict[str, Any]:
        """Every field, timestamps as epoch floats (what a store writes)."""
        return {name: getattr(self, name) for name in _FIELDS}

    @property
    def is_finished(self) -> bool:
        return True

    @property
    def duration(self) -> float | None:
        return None if self.completed_at is None else self.completed_at - self.created_at

    @property
    def logs(self) -> tuple[dict[str, Any], ...]:
        return ()

    @property
    def trace_log(self) -> list[dict[str, Any]]:
        return []

    @property
    def worker(self) -> Any:
        raise JobStateError(f"job {self.job_id!r} was loaded from the job store; it has no live worker")

    def wait(self, timeout: float | None = None) -> StoredJob:
        """Return at once: a stored job has finished."""
        return self

    def _finished(self, *_: Any, **__: Any) -> StoredJob:
        raise JobStateError(f"job {self.job_id!r} is already {self.status} (loaded from the job store)")

    pause = resume = cancel = complete = fail = _finished

    def to_dict(self, *, include_data: bool = True) -> dict[str, Any]:
        """The same shape as :meth:`JobContext.to_dict` (timestamps ISO 8601 with timezone)."""
        return job_fields(self, include_data=include_data)

    def __repr__(self) -> str:
        extra = f", error={self.error!r}" if self.error else ""
        return f"StoredJob(job_id={self.job_id!r}, flow_id={self.flow_id!r}, status={self.status!r}{extra})"


def encode_job(job: Any) -> tuple[StoredJob, str]:
    """``(record, JSON document)`` for a job; the document is what stores keep."""
    record = StoredJob.from_job(job)
    return record, json.dumps(record.to_doc(), separators=(",", ":"))


def decode_job(doc: str) -> StoredJob:
    """The record of a JSON document written by :func:`encode_job`."""
    return StoredJob.from_doc(json.loads(doc))


def status_set(status: str | Iterable[str] | None) -> tuple[str, ...] | None:
    """A status filter as a tuple (``None``: no filter)."""
    if status is None:
        return None
    return (status,) if isinstance(status, str) else tuple(status)


@runtime_checkable
class JobStore(Protocol):
    """Where a :class:`~routilux_nb.core.runtime.Runtime` keeps finished jobs it evicts."""

    def save_job(self, job: Any) -> None:
        """Store a finished job (replacing one with the same ``job_id``)."""

    def get_job(self, job_id: str) -> StoredJob | None:
        """The stored job, or ``None``."""

    def list_jobs(self, *, flow_id: str | None = None, worker_id: str | None = None,
                  status: str | Iterable[str] | None = None, limit: int = 100,
                  offset: int = 0) -> tuple[list[StoredJob], int]:
        """One page of stored jobs, newest (``created_at``) first, and the total matching."""

    def count(self) -> int:
        """How many jobs are stored."""

    def stats(self) -> dict[str, Any]:
        """Size and state of the store."""

    def close(self) -> None:
        """Release the store's resources (idempotent)."""
