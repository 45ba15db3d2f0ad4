"""Join pandas analysis with an OpenTelemetry backend: span ids as DataFrames.

=========  ====================================================================================
frame      columns (dtype)
=========  ====================================================================================
spans      trace_id, span_id, parent_span_id (32/16 hex digits, W3C), kind (``job`` or
           ``activation``), job_id, flow_id, routine_id, activation_id, seq, attempt, items
           (Int64), status, start (datetime64[ns, UTC]), duration (float64, s)
=========  ====================================================================================

:func:`with_trace_ids` appends ``trace_id`` and ``span_id`` to the monitor's frames: a trace
frame's rows get the span of the activation they belong to (job-level rows the job's span),
a jobs frame's rows their job's span, a job's metrics frame (``job=`` given) the job's span.
No OpenTelemetry import here: these work on the ids the recorder kept.
"""

from __future__ import annotations

import sys
from typing import Any

import pandas as pd

__all__ = ["SPAN_COLUMNS", "spans_frame", "with_trace_ids"]

SPAN_COLUMNS = [
    "trace_id",
    "span_id",
    "parent_span_id",
    "kind",
    "job_id",
    "flow_id",
    "routine_id",
    "activation_id",
    "seq",
    "attempt",
    "items",
    "status",
    "start",
    "duration",
]
_INTS = ("activation_id", "seq", "attempt", "items")
#: trace records of the job as a whole, and those written before the activation they feed
_JOB_LEVEL = ("job_start", "job_status", "job_end", "items_discarded")
_BEFORE = ("slot_call", "breakpoint_hit", "breakpoint_release")


def spans_frame(
    jobs: list[tuple[str, tuple[str, str]]], rows: list[tuple[Any, ...]]
) -> pd.DataFrame:
    """Job spans (ids only) then activation spans, as recorded (bounded)."""
    job_rows = [
        (t, s, None, "job", jid, None, None, None, None, None, None, None, None, None)
        for jid, (t, s) in jobs
    ]
    df = pd.DataFrame(job_rows + list(rows), columns=SPAN_COLUMNS)
    for col in _INTS:
        df[col] = df[col].astype("Int64")
    df["start"] = pd.to_datetime(df["start"].astype("float64"), unit="s", utc=True).astype(
        "datetime64[ns, UTC]"
    )
    df["duration"] = df["duration"].astype("float64")
    for col in SPAN_COLUMNS:
        if col not in _INTS and col not in ("start", "duration"):
            df[col] = df[col].astype("object")
    return df


def _recorder(source: Any) -> Any:
    if hasattr(source, "spans_frame") and hasattr(source, "job_ids"):
        return source
    otel = sys.modules.get("routilux_nb.monitor.otel")  # imported once export is configured
    rec = otel.recorder_of(source) if otel is not None else None
    if rec is None:
        raise ValueError(
            "OpenTelemetry export is not configured for this runtime: create it with "
            "Runtime(otel=...) or call routilux_nb.monitor.otel.instrument(runtime)"
        )
    return rec


def with_trace_ids(df: pd.DataFrame, source: Any, *, job: Any = None) -> pd.DataFrame:
    """A copy of ``df`` with ``trace_id`` and ``span_id`` columns (``None`` where unknown).

    ``source`` is an instrumented runtime or its recorder; ``job`` (a job or job id) labels
    frames without a ``job_id`` column, such as ``job.metrics.to_pandas()``.
    """
    rec = _recorder(source)
    ids = dict(rec.job_ids)
    out = df.copy()
    if "job_id" in out.columns:
        pairs = out["job_id"].map(lambda j: ids.get(j, (None, None)))
    else:
        jid = getattr(job, "job_id", job)
        if jid is None:
            raise ValueError("this frame has no job_id column: pass job= (the job it describes)")
        pairs = pd.Series([ids.get(jid, (None, None))] * len(out), index=out.index, dtype="object")
    out["trace_id"] = pairs.map(lambda p: p[0]).astype("object")
    out["span_id"] = pairs.map(lambda p: p[1]).astype("object")
    if {"seq", "routine_id", "job_id"} <= set(out.columns) and len(out):
        _activation_spans(out, rec)
    return out


def _activation_spans(out: pd.DataFrame, rec: Any) -> None:
    """Trace rows of a routine take the span of the activation they belong to: records written
    before it starts (``slot_call``, breakpoints) look forward, the rest back."""
    acts = pd.DataFrame(
        [(r[4], r[6], r[8], r[1]) for r in list(rec.rows) if r[8] is not None],
        columns=["job_id", "routine_id", "seq", "act_span"],
    )
    if acts.empty:
        return
    acts["seq"] = acts["seq"].astype("int64")
    for col in ("job_id", "routine_id", "act_span"):
        acts[col] = acts[col].astype("object")
    acts = acts.sort_values("seq")
    kinds = out["event_type"] if "event_type" in out.columns else pd.Series("", index=out.index)
    rows = out[out["routine_id"].notna() & ~kinds.isin(_JOB_LEVEL)]
    if rows.empty:
        return
    left = pd.DataFrame(
        {
            "job_id": rows["job_id"].astype("object"),
            "routine_id": rows["routine_id"].astype("object"),
            "seq": rows["seq"].astype("int64"),
            "_i": rows.index,
        }
    )
    forward = left[kinds.loc[left["_i"]].isin(_BEFORE).to_numpy()]
    backward = left.drop(forward.index)
    for part, direction in ((backward, "backward"), (forward, "forward")):
        if part.empty:
            continue
        merged = pd.merge_asof(
            part.sort_values("seq"),
            acts,
            on="seq",
            by=["job_id", "routine_id"],
            direction=direction,
        )
        found = merged[merged["act_span"].notna()]
        out.loc[found["_i"].to_numpy(), "span_id"] = found["act_span"].to_numpy()
