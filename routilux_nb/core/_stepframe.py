"""The DataFrame of recorded steps (``job.steps``); pandas is imported when one is made."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .steps import Step, StepLimits

__all__ = ["STEP_COLUMNS", "steps_frame"]

#: columns of ``job.steps`` (in this order); ``frame.attrs`` has ``job_id``, ``dropped``,
#: ``dropped_bytes``, ``max_steps`` and ``max_bytes``
STEP_COLUMNS = [
    "step",  # int64: the activation id (what job.fork(step) takes)
    "seq",  # Int64: seq of the activation's routine_start record in job.trace (<NA> unmonitored)
    "routine",  # the routine id
    "attempt",  # int64: 0, or the retry number of the routine's error handler
    "started_at",  # datetime64[ns, UTC]
    "duration",  # float64 seconds (NaN while running)
    "status",  # "running", "completed" or "failed"
    "input_items",  # int64: items delivered, all slots together
    "input_bytes",  # int64: estimated size of the inputs
    "data_bytes",  # int64: estimated size of the job data at the start
    "error",  # "Type: message" of a failed step, else None
]


def steps_frame(
    steps: list[Step],
    *,
    job_id: str | None = None,
    dropped: int = 0,
    dropped_bytes: int = 0,
    limits: StepLimits | None = None,
) -> Any:
    """A DataFrame of ``steps`` with :data:`STEP_COLUMNS`; ``attrs`` says what was dropped."""
    import pandas as pd

    frame = pd.DataFrame(
        {
            "step": pd.Series([s.step for s in steps], dtype="int64"),
            "seq": pd.Series([s.seq for s in steps], dtype="Int64"),
            "routine": pd.Series([s.routine_id for s in steps], dtype="object"),
            "attempt": pd.Series([s.attempt for s in steps], dtype="int64"),
            "started_at": pd.to_datetime(
                pd.Series([s.started_at for s in steps], dtype="float64"), unit="s", utc=True
            ),
            "duration": pd.Series(
                [float("nan") if s.duration is None else s.duration for s in steps],
                dtype="float64",
            ),
            "status": pd.Series([s.status for s in steps], dtype="object"),
            "input_items": pd.Series([s.input_items for s in steps], dtype="int64"),
            "input_bytes": pd.Series([s.input_bytes for s in steps], dtype="int64"),
            "data_bytes": pd.Series([s.data_bytes for s in steps], dtype="int64"),
            "error": pd.Series([s.error for s in steps], dtype="object"),
        },
        columns=STEP_COLUMNS,
    )
    frame.attrs.update(
        job_id=job_id,
        dropped=dropped,
        dropped_bytes=dropped_bytes,
        max_steps=None if limits is None else limits.max_steps,
        max_bytes=None if limits is None else limits.max_bytes,
    )
    return frame
