"""What every job store shares: the :class:`JobStore` protocol and the :class:`StoredJob` record.

A finished job is stored as one JSON document (never a pickle, so loading one runs no code);
values JSON cannot hold are kept as their ``repr``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from routilux_nb.core.errors import JobStateError
from routilux_nb.core.extensions import JobStore
from routilux_nb.core.job import job_fields
from routilux_nb.core.jsonsafe import to_jsonable

from .steps import StoredSteps

__all__ = [
    "COUNT_LIMIT",
    "JOB_FIELDS",
    "SORT_KEYS",
    "UNFINISHED",
    "JobStore",
    "StoredJob",
    "check_listing",
    "decode_job",
    "encode_job",
    "interrupted",
    "status_set",
]

#: the fields a stored job keeps (its JSON document's keys)
JOB_FIELDS = (
    "job_id",
    "worker_id",
    "flow_id",
    "status",
    "created_at",
    "started_at",
    "completed_at",
    "metadata",
    "data",
    "error",
    "error_type",
    "error_traceback",
    "cancelled_at",
    "cancel_reason",
    "logs",
    "entry",
    "entry_data",
    "flow_version",
)
#: matches a listing filtered by creation time or worker counts exactly; past it (and past the
#: page asked for) its total is a lower bound (:class:`~routilux_nb.core.extensions.AtLeast`)
COUNT_LIMIT = 10_000
#: what ``GET /jobs`` may sort by, and the statuses of jobs that have not finished
SORT_KEYS = ("created_at", "completed_at", "status")
UNFINISHED = ("pending", "running", "paused")
INTERRUPTED_ERROR = (
    "interrupted: the runtime stopped while the job was {status} (its process ended without "
    "finishing it); retry it with runtime.retry_job(job_id)"
)


@dataclass(frozen=True)
class StoredJob(StoredSteps):
    """A job read back from a store: its fields, ``to_dict()`` and ``wait()``.

    It answers like a :class:`~routilux_nb.core.job.JobContext` (so ``Runtime.get_job`` can
    return it); it has no worker or trace, and cannot be paused, resumed, cancelled,
    completed or failed. Stores hold finished jobs, and, with write-through, jobs still
    running (their status and times; data and logs come with the final state).
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
    #: the job's log entries (written when it finishes)
    logs: list[dict[str, Any]] = field(default_factory=list)
    #: ``[routine_id, slot_name]`` the job was submitted to, and the payload put there
    entry: list[str] | None = None
    entry_data: dict[str, Any] | None = None
    flow_version: int | None = None

    #: no monitoring data survives storage
    monitor = None

    @classmethod
    def from_job(cls, job: Any, *, with_data: bool = True) -> StoredJob:
        """A record of ``job`` (a JobContext or anything with its fields), made JSON-safe.

        ``with_data=False`` leaves out what changes while a job runs (data and logs).
        """
        values: dict[str, Any] = {name: getattr(job, name, None) for name in JOB_FIELDS}
        values["metadata"] = to_jsonable(dict(values["metadata"] or {}))
        values["data"] = to_jsonable(dict(values["data"] or {})) if with_data else {}
        values["logs"] = to_jsonable(list(values["logs"] or ())) if with_data else []
        entry = values["entry"]
        values["entry"] = None if entry is None else [str(part) for part in entry]
        entry_data = values["entry_data"]
        values["entry_data"] = None if entry_data is None else to_jsonable(dict(entry_data))
        return cls(**values)

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> StoredJob:
        """The record a stored document describes (unknown keys are ignored)."""
        values: dict[str, Any] = {name: doc[name] for name in JOB_FIELDS if name in doc}
        return cls(**values)

    def to_doc(self) -> dict[str, Any]:
        """Every field, timestamps as epoch floats (what a store writes)."""
        return {name: getattr(self, name) for name in JOB_FIELDS}

    @property
    def is_finished(self) -> bool:
        return self.status in ("completed", "failed", "cancelled")

    @property
    def duration(self) -> float | None:
        return None if self.completed_at is None else self.completed_at - self.created_at

    @property
    def trace_log(self) -> list[dict[str, Any]]:
        return []

    @property
    def worker(self) -> Any:
        raise JobStateError(
            f"job {self.job_id!r} was loaded from the job store; it has no live worker"
        )

    def wait(self, timeout: float | None = None) -> StoredJob:
        """Return at once: a stored job has finished."""
        return self

    def _finished(self, *_: Any, **__: Any) -> StoredJob:
        raise JobStateError(
            f"job {self.job_id!r} is already {self.status} (loaded from the job store)"
        )

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


def check_listing(limit: int, offset: int, sort_by: str, order: str) -> None:
    """Raise ``ValueError`` naming what is allowed when a listing's parameters are not."""
    if limit < 0 or offset < 0:
        raise ValueError(f"limit and offset must be >= 0, got limit={limit}, offset={offset}")
    if sort_by not in SORT_KEYS:
        raise ValueError(f"sort_by must be one of {', '.join(SORT_KEYS)}; got {sort_by!r}")
    if order not in ("asc", "desc"):
        raise ValueError(f"order must be 'asc' or 'desc', got {order!r}")


def interrupted(record: StoredJob, at: float) -> StoredJob:
    """``record`` (an unfinished job whose process died) as a failed, interrupted job."""
    return dataclasses.replace(
        record,
        status="failed",
        completed_at=at,
        error=INTERRUPTED_ERROR.format(status=record.status),
        error_type="Interrupted",
    )


def status_set(status: str | Iterable[str] | None) -> tuple[str, ...] | None:
    """A status filter as a tuple (``None``: no filter)."""
    if status is None:
        return None
    return (status,) if isinstance(status, str) else tuple(status)
