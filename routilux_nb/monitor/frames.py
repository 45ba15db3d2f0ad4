"""pandas views with stable, documented schemas.

=================  ============================================================================
frame              columns (dtype)
=================  ============================================================================
trace              seq (int64), event_id, job_id, routine_id, event_type, timestamp
                   (datetime64[ns, UTC]), slot_name (slot_call), event_name (event_emit),
                   error_type (routine_error/retry/skipped), previous_status (job_status,
                   job_end), reason (breakpoint kind, or why items were discarded), data
                   (object), duration, cpu_time, queue_wait (float64, on routine_end), status
metrics            routine_id, execution_count (int64), total_duration, avg_duration,
                   min_duration, max_duration (float64, wall seconds), error_count (int64),
                   last_execution (datetime64[ns, UTC]), total_cpu_time, avg_cpu_time,
                   total_queue_wait, avg_queue_wait, total_blocked_time (float64: seconds
                   waiting for room in full slots, not in the durations), items_in,
                   items_out (int64)
jobs               job_id, worker_id, flow_id, status, created_at, started_at, completed_at
                   (datetime64[ns, UTC]), duration (float64), error
queues             routine_id, slot_name, unconsumed_count, total_count, max_length,
                   watermark_threshold (int64), usage_percentage (float64), pressure_level,
                   is_full, is_near_full (bool)
history            seq (int64), timestamp (datetime64[ns, UTC]), job_id, routine_id,
                   event_name, data
runtime metrics    job_id, worker_id, flow_id, then the metrics columns: one row per job and
                   routine (``per="job"``), or flow_id then the metrics columns summed over
                   every job ever run, evicted ones included (``per="routine"``)
runtime trace      worker_id, flow_id, then the trace columns, every held job's kept events
=================  ============================================================================

The ``data`` columns hold a short summary of each payload (a dict of its items); a pandas
DataFrame/Series or numpy array in it is a :class:`~routilux_nb.core.payloads.PayloadSummary`
shown as ``DataFrame 50×15`` or ``ndarray float64 (100, 3)``, with ``.dtypes``, ``.shape``
and ``.head(n)`` (the data itself, on demand).

Every frame has ``attrs["truncated"]``: true when the buffer it was built from dropped events
(a warning then names the ``Monitor(...)`` setting to raise). Counters are never cut.

The metrics frames end with ``unrouted`` (int64): payloads the routine emitted on events
connected to nothing (a filter's unconnected ``rejected``), exact like every counter.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

import pandas as pd

from .trace import TRACE_COLUMNS, TraceRecord, summarize

__all__ = [
    "HISTORY_COLUMNS",
    "JOB_COLUMNS",
    "METRICS_COLUMNS",
    "QUEUE_COLUMNS",
    "history_frame",
    "jobs_frame",
    "metrics_frame",
    "queues_frame",
    "runtime_metrics_frame",
    "runtime_trace_frame",
    "trace_frame",
]

METRICS_COLUMNS = [
    "routine_id",
    "execution_count",
    "total_duration",
    "avg_duration",
    "min_duration",
    "max_duration",
    "error_count",
    "last_execution",
    "total_cpu_time",
    "avg_cpu_time",
    "total_queue_wait",
    "avg_queue_wait",
    "total_blocked_time",
    "items_in",
    "items_out",
    "unrouted",
]
JOB_COLUMNS = [
    "job_id",
    "worker_id",
    "flow_id",
    "status",
    "created_at",
    "started_at",
    "completed_at",
    "duration",
    "error",
]
QUEUE_COLUMNS = [
    "routine_id",
    "slot_name",
    "unconsumed_count",
    "total_count",
    "max_length",
    "watermark_threshold",
    "usage_percentage",
    "pressure_level",
    "is_full",
    "is_near_full",
]
HISTORY_COLUMNS = ["seq", "timestamp", "job_id", "routine_id", "event_name", "data"]


def _utc(values: Iterable[float | None]) -> pd.Series:
    series = pd.to_datetime(pd.Series(list(values), dtype="float64"), unit="s", utc=True)
    return series.astype("datetime64[ns, UTC]")


#: which typed column the ``detail`` of each event type goes to
_DETAIL_COLUMN = {
    "slot_call": "slot_name",
    "event_emit": "event_name",
    "routine_error": "error_type",
    "routine_retry": "error_type",
    "routine_skipped": "error_type",
    "job_status": "previous_status",
    "job_end": "previous_status",
    "breakpoint_hit": "reason",
    "breakpoint_release": "reason",
    "items_discarded": "reason",
}


def _cut(df: pd.DataFrame, truncated: bool, what: str, setting: str) -> pd.DataFrame:
    df.attrs["truncated"] = bool(truncated)
    if truncated:
        warnings.warn(
            f"{what} was cut: its ring keeps only the newest events (counters stay exact); "
            f"to keep more, create the runtime with Runtime(monitor=Monitor({setting}=...))",
            stacklevel=3,
        )
    return df


def trace_frame(
    records: list[TraceRecord],
    *,
    truncated: bool = False,
    setting: str = "trace_size",
    what: str = "the trace",
) -> pd.DataFrame:
    rows = [r if isinstance(r, TraceRecord) else TraceRecord(*r) for r in records]
    typed: dict[str, list[Any]] = {c: [None] * len(rows) for c in set(_DETAIL_COLUMN.values())}
    for i, r in enumerate(rows):
        col = _DETAIL_COLUMN.get(r.event_type)
        if col is not None:
            typed[col][i] = r.detail
    df = pd.DataFrame(
        {
            "seq": pd.Series([r.seq for r in rows], dtype="int64"),
            "event_id": pd.Series([f"evt-{r.seq}" for r in rows], dtype="object"),
            "job_id": pd.Series([r.job_id for r in rows], dtype="object"),
            "routine_id": pd.Series([r.routine_id for r in rows], dtype="object"),
            "event_type": pd.Series([r.event_type for r in rows], dtype="object"),
            "timestamp": _utc(r.ts for r in rows),
            **{c: pd.Series(v, dtype="object") for c, v in typed.items()},
            "data": pd.Series([summarize(r.payload, objects=True) for r in rows], dtype="object"),
            "duration": pd.Series([r.duration for r in rows], dtype="float64"),
            "cpu_time": pd.Series([r.cpu_time for r in rows], dtype="float64"),
            "queue_wait": pd.Series([r.queue_wait for r in rows], dtype="float64"),
            "status": pd.Series([r.status for r in rows], dtype="object"),
        }
    )
    return _cut(df[TRACE_COLUMNS], truncated, what, setting)


def _unrouted(m: Any, flow: Any) -> int:
    """Payloads ``m``'s routine emitted on events of ``flow`` that no connection takes."""
    if flow is None:
        return 0
    return sum(n for e, n in list((m.emits or {}).items()) if not flow.routes(m.routine_id, e))


def metrics_frame(metrics: list[Any], flow: Any = None) -> pd.DataFrame:
    """One row per routine; ``unrouted`` is counted against ``flow``'s connections (0 without)."""
    df = pd.DataFrame(
        {
            "routine_id": pd.Series([m.routine_id for m in metrics], dtype="object"),
            "execution_count": pd.Series([m.execution_count for m in metrics], dtype="int64"),
            "total_duration": pd.Series([m.total_duration for m in metrics], dtype="float64"),
            "avg_duration": pd.Series([m.avg_duration for m in metrics], dtype="float64"),
            "min_duration": pd.Series([m.min_duration for m in metrics], dtype="float64"),
            "max_duration": pd.Series([m.max_duration for m in metrics], dtype="float64"),
            "error_count": pd.Series([m.error_count for m in metrics], dtype="int64"),
            "last_execution": _utc(m.last_execution for m in metrics),
            "total_cpu_time": pd.Series([m.total_cpu_time for m in metrics], dtype="float64"),
            "avg_cpu_time": pd.Series([m.avg_cpu_time for m in metrics], dtype="float64"),
            "total_queue_wait": pd.Series([m.total_queue_wait for m in metrics], dtype="float64"),
            "avg_queue_wait": pd.Series([m.avg_queue_wait for m in metrics], dtype="float64"),
            "total_blocked_time": pd.Series(
                [m.total_blocked_time for m in metrics], dtype="float64"
            ),
            "items_in": pd.Series([m.items_in for m in metrics], dtype="int64"),
            "items_out": pd.Series([m.items_out for m in metrics], dtype="int64"),
            "unrouted": pd.Series([_unrouted(m, flow) for m in metrics], dtype="int64"),
        }
    )[METRICS_COLUMNS]
    df.attrs["truncated"] = False  # counters are exact
    return df


def jobs_frame(jobs: list[Any]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "job_id": pd.Series([j.job_id for j in jobs], dtype="object"),
            "worker_id": pd.Series([j.worker_id for j in jobs], dtype="object"),
            "flow_id": pd.Series([j.flow_id for j in jobs], dtype="object"),
            "status": pd.Series([j.status for j in jobs], dtype="object"),
            "created_at": _utc(j.created_at for j in jobs),
            "started_at": _utc(j.started_at for j in jobs),
            "completed_at": _utc(j.completed_at for j in jobs),
            "duration": pd.Series([j.duration for j in jobs], dtype="float64"),
            "error": pd.Series([j.error for j in jobs], dtype="object"),
        }
    )[JOB_COLUMNS]


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


def history_frame(records: list[TraceRecord], *, truncated: bool = False) -> pd.DataFrame:
    rows = [r if isinstance(r, TraceRecord) else TraceRecord(*r) for r in records]
    df = pd.DataFrame(
        {
            "seq": pd.Series([r.seq for r in rows], dtype="int64"),
            "timestamp": _utc(r.ts for r in rows),
            "job_id": pd.Series([r.job_id for r in rows], dtype="object"),
            "routine_id": pd.Series([r.routine_id for r in rows], dtype="object"),
            "event_name": pd.Series([r.detail for r in rows], dtype="object"),
            "data": pd.Series([summarize(r.payload, objects=True) for r in rows], dtype="object"),
        }
    )[HISTORY_COLUMNS]
    return _cut(df, truncated, "the worker history", "history_size")


def _held_jobs(runtime: Any, flow_id: str | None, worker_id: str | None) -> tuple[list[Any], bool]:
    """The runtime's jobs (oldest first) and whether finished jobs were evicted from it."""
    jobs = [j for j in runtime.jobs(flow_id=flow_id, worker_id=worker_id) if j.monitor is not None]
    jobs.sort(key=lambda j: j.created_at)
    held_finished = sum(1 for j in runtime.jobs() if j.is_finished)
    return jobs, runtime.monitor.jobs_finished > held_finished


def runtime_metrics_frame(
    runtime: Any, *, per: str = "job", flow_id: str | None = None, worker_id: str | None = None
) -> pd.DataFrame:
    """Metrics spanning jobs: one row per job and routine, or (``per="routine"``) exact totals
    per flow and routine over every job ever run."""
    if per == "routine":
        rows = [
            (fid, m)
            for fid in ([flow_id] if flow_id else sorted(runtime.flows))
            for m in runtime.monitor.routine_totals(flow_id=fid).values()
        ]
        df = metrics_frame([m for _, m in rows])
        flows = runtime.flows
        df["unrouted"] = pd.Series(
            [_unrouted(m, flows.get(fid)) for fid, m in rows], dtype="int64", index=df.index
        )
        df.insert(0, "flow_id", pd.Series([f for f, _ in rows], dtype="object"))
        return df
    if per != "job":
        raise ValueError(f"per must be 'job' or 'routine', got {per!r}")
    jobs, evicted = _held_jobs(runtime, flow_id, worker_id)
    keys = [(j, m) for j in jobs for m in list(j.monitor.routines.values())]
    df = metrics_frame([m for _, m in keys])
    df["unrouted"] = pd.Series(
        [_unrouted(m, j.worker.flow) for j, m in keys], dtype="int64", index=df.index
    )
    for i, col in enumerate(("job_id", "worker_id", "flow_id")):
        df.insert(i, col, pd.Series([getattr(j, col) for j, _ in keys], dtype="object"))
    df.attrs["truncated"] = evicted
    if evicted:
        warnings.warn(
            "finished jobs were evicted from the runtime, so their rows are missing (the "
            "per='routine' totals still count them); to hold more, create the runtime with "
            "Runtime(max_finished_jobs=...)",
            stacklevel=2,
        )
    return df


def runtime_trace_frame(
    runtime: Any, *, flow_id: str | None = None, worker_id: str | None = None
) -> pd.DataFrame:
    """Every held job's kept trace events in one frame, by seq, with ``worker_id`` and ``flow_id``."""
    jobs, evicted = _held_jobs(runtime, flow_id, worker_id)
    records = sorted(r for j in jobs for r in j.monitor.trace.records())
    owner = {j.job_id: j for j in jobs}
    cut = [j.job_id for j in jobs if j.monitor.trace.truncated]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = trace_frame(records)
    df.insert(0, "flow_id", pd.Series([owner[r.job_id].flow_id for r in records], dtype="object"))
    df.insert(
        0, "worker_id", pd.Series([owner[r.job_id].worker_id for r in records], dtype="object")
    )
    df.attrs["truncated"] = bool(cut) or evicted
    if cut:
        warnings.warn(
            f"the traces of {len(cut)} job(s) were cut (e.g. {cut[0]}): each keeps only its newest "
            "events; to keep more, create the runtime with Runtime(monitor=Monitor(trace_size=...))",
            stacklevel=2,
        )
    if evicted:
        warnings.warn(
            "finished jobs were evicted from the runtime, so their events are missing; to hold "
            "more, create the runtime with Runtime(max_finished_jobs=...)",
            stacklevel=2,
        )
    return df
