"""Recorded steps of finished jobs, kept in the SQLite store beside the jobs.

When a runtime records steps (``Runtime(record_steps=...)``) and has a SQLite store, a job's
steps (within the cap it was recorded with) are written in the same transaction as the job's
final state, one JSON document per job in the table ``job_steps`` (created on first write).
After a restart on the same file, ``rt.get_job(job_id).steps`` / ``.fork(step)`` and
``rt.fork(job_id, step)`` read them back. Values JSON cannot hold are kept as
:mod:`routilux_nb.core.jsonsafe` writes them (a DataFrame as a summary, for instance), so a
fork after a restart starts from what JSON kept.

:class:`StoredSteps` gives :class:`~.base.StoredJob` the same ``steps``, ``step``, ``fork``
and ``compare`` as a live job; it needs the runtime, which ``Runtime.get_job`` binds.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

from routilux_nb.core import jsonsafe
from routilux_nb.core.errors import JobStateError
from routilux_nb.core.job import JobContext
from routilux_nb.core.steps import Step, StepLimits, StepLog

__all__ = [
    "STEPS_TABLE",
    "StoredSteps",
    "decode_log",
    "encode_log",
    "load_steps",
    "step_rows",
    "write_steps",
]

STEPS_TABLE = "CREATE TABLE IF NOT EXISTS job_steps (job_id TEXT PRIMARY KEY, doc TEXT NOT NULL)"
_FINISHED = frozenset({"completed", "failed", "cancelled"})


def encode_log(log: StepLog) -> str:
    """The JSON document of a job's steps: the steps kept, the cap and what was dropped."""
    return jsonsafe.dumps(
        {
            "max_steps": log.limits.max_steps,
            "max_bytes": log.limits.max_bytes,
            "dropped": log.dropped,
            "dropped_bytes": log.dropped_bytes,
            "dropped_step": log.dropped_step,
            "dropped_seq": log.dropped_seq,
            "steps": [s.to_doc() for s in log.list()],
        }
    )


def decode_log(doc: str) -> StepLog:
    """The :class:`StepLog` a document of :func:`encode_log` describes."""
    d = json.loads(doc)
    limits = StepLimits(max_steps=int(d["max_steps"]), max_bytes=int(d["max_bytes"]))
    log = StepLog(limits, [Step.from_doc(s) for s in d.get("steps", ())])
    log.dropped = int(d.get("dropped", 0))
    log.dropped_bytes = int(d.get("dropped_bytes", 0))
    log.dropped_step = d.get("dropped_step")
    log.dropped_seq = d.get("dropped_seq")
    return log


def step_rows(jobs: Iterable[Any]) -> list[tuple[str, str]]:
    """``(job_id, document)`` of every finished job among ``jobs`` that recorded steps."""
    rows = []
    for job in jobs:
        if not isinstance(job, JobContext) or job.status not in _FINISHED:
            continue  # stored records carry their steps already (or none)
        log = job.step_log
        if log is not None:
            rows.append((job.job_id, encode_log(log)))
    return rows


def write_steps(db: sqlite3.Connection, rows: list[tuple[str, str]]) -> None:
    """Upsert step documents (inside the caller's transaction)."""
    if rows:
        db.execute(STEPS_TABLE)
        db.executemany("INSERT OR REPLACE INTO job_steps VALUES (?, ?)", rows)


def load_steps(db: sqlite3.Connection, job_id: str) -> StepLog | None:
    """The stored steps of ``job_id``, or ``None`` (none stored, or a file without the table)."""
    try:
        row = db.execute("SELECT doc FROM job_steps WHERE job_id = ?", (job_id,)).fetchone()
    except sqlite3.OperationalError:  # no such table: nothing was ever stored
        return None
    return None if row is None else decode_log(row[0])


class StoredSteps:
    """``steps``, ``step``, ``fork`` and ``compare`` of a job read back from the store."""

    job_id: str

    def bind_runtime(self, runtime: Any) -> None:
        """Remember the runtime that read this job (``Runtime.get_job`` calls this)."""
        object.__setattr__(self, "_runtime", runtime)

    def _rt(self) -> Any:
        runtime = self.__dict__.get("_runtime")
        if runtime is None:
            raise JobStateError(
                f"job {self.job_id!r} was read from a store directly; read it with "
                f"rt.get_job({self.job_id!r}) (or use rt.fork({self.job_id!r}, step))"
            )
        return runtime

    @property
    def step_log(self) -> StepLog | None:
        """The job's stored steps, or ``None`` (none stored, or not read through a runtime)."""
        runtime = self.__dict__.get("_runtime")
        return None if runtime is None else runtime.step_log(self)

    @property
    def steps(self) -> Any:
        """The stored steps as a DataFrame (the columns of a live job's ``steps``)."""
        from routilux_nb.core.forking import resolve_step

        log = self.step_log
        if log is None:
            resolve_step(self, None)  # raises, saying how to record steps
        assert log is not None
        return log.frame(self.job_id)

    def step(self, step: Any = None, *, seq: int | None = None) -> Step:
        from routilux_nb.core.forking import resolve_step

        return resolve_step(self, self.step_log, step, seq)

    def fork(
        self,
        step: Any = None,
        *,
        seq: int | None = None,
        inputs: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        job_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        flow: Any = None,
    ) -> JobContext:
        """As ``JobContext.fork``: a new job at ``step``, on the flow's running worker."""
        return self._rt().fork(  # type: ignore[no-any-return]
            self,
            step,
            seq=seq,
            inputs=inputs,
            data=data,
            job_id=job_id,
            metadata=metadata,
            flow=flow,
        )

    def compare(self, other: Any) -> Any:
        from routilux_nb.core.compare import compare

        return compare(self, other)
