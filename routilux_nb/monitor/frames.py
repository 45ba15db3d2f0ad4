"""pandas views with stable, documented schemas.

=================  ============================================================================
frame              columns (dtype)
=================  ============================================================================
trace              seq (int64), event_id, job_id, routine_id, event_type, timestamp
                   (datetime64[ns, UTC]), detail, data (object), duration (float64), status
metrics            routine_id, execution_count (int64), total_duration, avg_duration,
                   min_duration, max_duration (float64), error_count (int64),
                   last_execution (datetime64[ns, UTC])
jobs               job_id, worker_id, flow_id, status, created_at, started_at, completed_at
                   (datetime64[ns, UTC]), duration (float64), error
queues             routine_id, slot_name, unconsumed_count, total_count, max_length,
                   watermark_threshold (int64), usage_percentage (float64), pressure_level,
                   is_full, is_near_full (bool)
history            seq (int64), timestamp (datetime64[ns, UTC]), job_id, routine_id,
                   event_name, data
=================  ============================================================================
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from .trace import TRACE_COLUMNS, summarize

__all__ = ["HISTORY_COLUMNS", "JOB_COLUMNS", "METRICS_COLUMNS", "QUEUE_COLUMNS", "history_frame",
           "jobs_frame", "metrics_frame", "queues_frame", "trace_frame"]

METRICS_COLUMNS = ["routine_id", "execution_count", "total_duration", "avg_duration", "min_duration",
                   "max_duration", "error_count", "last_execution"]
JOB_COLUMNS = ["job_id", "worker_id", "flow_id", "status", "created_at", "started_at", "completed_at",
               "duration", "error"]
QUEUE_COLUMNS = ["routine_id", "slot_name", "unconsumed_count", "total_count", "max_length",
                 "watermark_threshold", "usage_percentage", "pressure_level", "is_full", "is_near_full"]
HISTORY_COLUMNS = ["seq", "timestamp", "job_id", "routine_id", "event_name", "data"]


def _utc(values: Iterable[float | None]) -> pd.Series:
    series = pd.to_datetime(pd.Series(list(values), dtype="float64"), unit="s", utc=True)
    return series.astype("datetime64[ns, UTC]")


def trace_frame(records: list[tuple[Any, ...]]) -> pd.DataFrame:
    df = pd.DataFrame({
        "seq": pd.Series([r[0] for r in records], dtype="int64"),
        "event_id": pd.Series([f"evt-{r[0]}" for r in records], dtype="object"),
        "job_id": pd.Series([r[4] for r in records], dtype="object"),
        "routine_id": pd.Series([r[3] for r in records], dtype="object"),
        "event_type": pd.Series([r[2] for r in records], dtype="object"),
        "timestamp": _utc(r[1] for r in records),
        "detail": pd.Series([r[5] for r in records], dtype="object"),
        "data": pd.Series([summarize(r[6]) for r in records], dtype="object"),
        "duration": pd.Series([r[7] for r in records], dtype="float64"),
        "status": pd.Series([r[8] for r in records], dtype="object"),
    })
    return df[TRACE_COLUMNS]


def metrics_frame(metrics: list[Any]) -> pd.DataFrame:
    return pd.DataFrame({
        "routine_id": pd.Series([m.routine_id for m in metrics], dtype="object"),
        "execution_count": pd.Series([m.execution_count for m in metrics], dtype="int64"),
        "total_duration": pd.Series([m.total_duration for m in metrics], dtype="float64"),
        "avg_duration": pd.Series([m.avg_duration for m in metrics], dtype="float64"),
        "min_duration": pd.Series([m.min_duration for m in metrics], dtype="float64"),
        "max_duration": pd.Series([m.max_duration for m in metrics], dtype="float64"),
        "error_count": pd.Series([m.error_count for m in metrics], dtype="int64"),
        "last_execution": _utc(m.last_execution for m in metrics),
    })[METRICS_COLUMNS]


def jobs_frame(jobs: list[Any]) -> pd.DataFrame:
    return pd.DataFrame({
        "job_id": pd.Series([j.job_id for j in jobs], dtype="object"),
        "worker_id": pd.Series([j.worker_id for j in jobs], dtype="object"),
        "flow_id": pd.Series([j.flow_id for j in jobs], dtype="object"),
        "status": pd.Series([j.status for j in jobs], dtype="object"),
        "created_at": _utc(j.created_at for j in jobs),
        "started_at": _utc(j.started_at for j in jobs),
        "completed_at": _utc(j.completed_at for j in jobs),
        "duration": pd.Series([j.duration for j in jobs], dtype="float64"),
        "error": pd.Series([j.error for j in jobs], dtype="object"),
    })[JOB_COLUMNS]


def queues_frame(status: dict[str, list[dict[str, Any]]]) -> pd.DataFrame:
    rows = [row for rows in status.values() for row in rows]
    df = pd.DataFrame(rows, columns=QUEUE_COLUMNS)
    for col in ("unconsumed_count", "total_count", "max_length", "watermark_threshold"):
        df[col] = df[col].astype("int64")
    df["usage_percentage"] = df["usage_percentage"].astype("float64")
    for col in ("routine_id", "slot_name", "pressure_level"):
        df[col] = df[col].astype("object")
    for col in ("is_full", "is_near_full"):
        df[col] = df[col].astype("bool")
    return df


def history_frame(records: list[tuple[Any, ...]]) -> pd.DataFrame:
    return pd.DataFrame({
        "seq": pd.Series([r[0] for r in records], dtype="int64"),
        "timestamp": _utc(r[1] for r in records),
        "job_id": pd.Series([r[4] for r in records], dtype="object"),
        "routine_id": pd.Series([r[3] for r in records], dtype="object"),
        "event_name": pd.Series([r[5] for r in records], dtype="object"),
        "data": pd.Series([summarize(r[6]) for r in records], dtype="object"),
    })[HISTORY_COLUMNS]
