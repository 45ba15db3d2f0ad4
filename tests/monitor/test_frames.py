"""Every pandas frame of the monitor has its documented columns and dtypes."""

from __future__ import annotations

import pandas as pd
import pytest

from routilux_nb.monitor import frames
from routilux_nb.monitor.trace import TRACE_COLUMNS

WAIT = 2.0
UTC_NS = "datetime64[ns, UTC]"

TRACE_DTYPES = {
    "seq": "int64",
    "event_id": "object",
    "job_id": "object",
    "routine_id": "object",
    "event_type": "object",
    "timestamp": UTC_NS,
    "slot_name": "object",
    "event_name": "object",
    "error_type": "object",
    "previous_status": "object",
    "reason": "object",
    "data": "object",
    "duration": "float64",
    "cpu_time": "float64",
    "queue_wait": "float64",
    "status": "object",
}
METRICS_DTYPES = {
    "routine_id": "object",
    "execution_count": "int64",
    "total_duration": "float64",
    "avg_duration": "float64",
    "min_duration": "float64",
    "max_duration": "float64",
    "error_count": "int64",
    "last_execution": UTC_NS,
    "total_cpu_time": "float64",
    "avg_cpu_time": "float64",
    "total_queue_wait": "float64",
    "avg_queue_wait": "float64",
    "total_blocked_time": "float64",
    "items_in": "int64",
    "items_out": "int64",
    "unrouted": "int64",
}
JOB_DTYPES = {
    "job_id": "object",
    "worker_id": "object",
    "flow_id": "object",
    "status": "object",
    "created_at": UTC_NS,
    "started_at": UTC_NS,
    "completed_at": UTC_NS,
    "duration": "float64",
    "error": "object",
}
QUEUE_NUMERIC_DTYPES = {
    "unconsumed_count": "int64",
    "total_count": "int64",
    "max_length": "int64",
    "watermark_threshold": "int64",
    "usage_percentage": "float64",
    "is_full": "bool",
    "is_near_full": "bool",
}
HISTORY_DTYPES = {
    "seq": "int64",
    "timestamp": UTC_NS,
    "job_id": "object",
    "routine_id": "object",
    "event_name": "object",
    "data": "object",
}


def dtypes(df: pd.DataFrame) -> dict[str, str]:
    return {c: str(t) for c, t in df.dtypes.items()}


@pytest.fixture
def ran(rt, chain):
    c = chain()
    w = rt.start(c.flow)
    job = w.submit(data={"values": [1, 2, 3]}).wait(WAIT)
    assert job.status == "completed"
    return rt, w, job


def test_documented_column_lists():
    assert TRACE_COLUMNS == list(TRACE_DTYPES)
    assert frames.METRICS_COLUMNS == list(METRICS_DTYPES)
    assert frames.JOB_COLUMNS == list(JOB_DTYPES)
    assert frames.HISTORY_COLUMNS == list(HISTORY_DTYPES)
    assert frames.QUEUE_COLUMNS == [
        "routine_id",
        "slot_name",
        *list(QUEUE_NUMERIC_DTYPES)[:5],
        "pressure_level",
        "is_full",
        "is_near_full",
    ]
    for name in ("trace", "metrics", "jobs", "queues", "history"):
        assert name in frames.__doc__


def test_trace_frame(ran):
    _, _, job = ran
    df = job.trace.to_pandas()
    assert list(df.columns) == TRACE_COLUMNS
    assert dtypes(df) == TRACE_DTYPES
    assert len(df) == len(job.trace)
    assert df["event_id"].tolist() == [f"evt-{s}" for s in df["seq"]]


def test_metrics_frame(ran):
    _, _, job = ran
    df = job.metrics.to_pandas()
    assert list(df.columns) == frames.METRICS_COLUMNS
    assert dtypes(df) == METRICS_DTYPES
    assert sorted(df["routine_id"]) == ["double", "sink", "source"]
    assert df["last_execution"].notna().all()


def test_jobs_frame(ran):
    rt, _, job = ran
    df = frames.jobs_frame(rt.jobs())
    assert list(df.columns) == frames.JOB_COLUMNS
    assert dtypes(df) == JOB_DTYPES
    row = df.set_index("job_id").loc[job.job_id]
    assert row["status"] == "completed"
    assert row["duration"] == pytest.approx(job.duration)
    assert row["completed_at"] >= row["created_at"]
    assert pd.isna(row["error"])


def test_queues_frame(ran):
    _, w, _ = ran
    df = frames.queues_frame(w.queue_status())
    assert list(df.columns) == frames.QUEUE_COLUMNS
    for col, dt in QUEUE_NUMERIC_DTYPES.items():
        assert str(df[col].dtype) == dt, col
    assert sorted(df["routine_id"]) == ["double", "sink", "source"]
    assert set(df["pressure_level"]) == {"low"}
    assert sorted(df["total_count"]) == [1, 3, 3]


def test_history_frame(ran):
    _, w, job = ran
    df = w.history.to_pandas()
    assert list(df.columns) == frames.HISTORY_COLUMNS
    assert dtypes(df) == HISTORY_DTYPES
    assert len(df) == 6
    assert set(df["job_id"]) == {job.job_id}


# -- the schema does not depend on the data --------------------------------------------------
def test_timestamp_columns_are_ns_utc_when_empty_or_null(rt, chain):
    c = chain()
    w = rt.start(c.flow)
    assert dtypes(w.history.to_pandas()) == HISTORY_DTYPES  # no emits yet
    w.pause()
    job = w.submit(data={"value": 1})
    assert job.status == "pending"
    assert dtypes(frames.jobs_frame([job])) == JOB_DTYPES
    assert dtypes(job.metrics.to_pandas()) == METRICS_DTYPES
    assert dtypes(frames.trace_frame([])) == TRACE_DTYPES
    assert dtypes(frames.jobs_frame([])) == JOB_DTYPES
    w.resume()
    job.wait(WAIT)


def test_queues_frame_schema_is_stable(rt, chain):
    c = chain()
    w = rt.start(c.flow)
    full = frames.queues_frame(w.queue_status())
    empty = frames.queues_frame({})
    assert dtypes(full) == dtypes(empty)
    assert str(full["routine_id"].dtype) == "object"
