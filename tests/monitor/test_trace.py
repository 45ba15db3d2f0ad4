"""Execution traces recorded while real jobs run through a real flow."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from routilux_nb import Runtime
from routilux_nb.monitor import EVENT_TYPES, Monitor
from routilux_nb.monitor.trace import TRACE_COLUMNS

WAIT = 2.0


def _index(types: list[tuple[str, str | None]], etype: str, rid: str | None = None) -> int:
    for i, (t, r) in enumerate(types):
        if t == etype and (rid is None or r == rid):
            return i
    raise AssertionError(f"{etype} of {rid} not in trace {types}")


def test_three_routine_job_records_every_event_type_in_order(rt, chain):
    c = chain()
    job = rt.submit(c.flow, data={"value": 3}).wait(WAIT)
    assert job.status == "completed"
    assert job.data["out"] == [6]
    events = job.trace.to_list()
    types = [(e["event_type"], e["routine_id"]) for e in events]
    kinds = [t for t, _ in types]
    assert kinds[0] == "job_start"
    assert kinds[-1] == "job_end"
    assert events[-1]["status"] == "completed"
    for etype in (
        "job_start",
        "slot_call",
        "routine_start",
        "event_emit",
        "routine_end",
        "job_end",
    ):
        assert etype in kinds
        assert etype in EVENT_TYPES
    for rid in ("source", "double", "sink"):
        call = _index(types, "slot_call", rid)
        start = _index(types, "routine_start", rid)
        end = _index(types, "routine_end", rid)
        assert call < start < end
        assert events[end]["status"] == "ok"
        assert events[end]["duration"] is not None and events[end]["duration"] >= 0
    for rid in ("source", "double"):
        emit = _index(types, "event_emit", rid)
        assert _index(types, "routine_start", rid) < emit < _index(types, "routine_end", rid)
    # data flows downstream: an emit comes before the slot call it feeds
    assert _index(types, "event_emit", "source") < _index(types, "slot_call", "double")
    assert _index(types, "event_emit", "double") < _index(types, "slot_call", "sink")
    assert "event_emit" not in [t for t, r in types if r == "sink"]
    # every recorded event belongs to this job and carries the job's data
    assert {e["job_id"] for e in events} == {job.job_id}
    emit = events[_index(types, "event_emit", "double")]
    assert emit["detail"] == "output"
    assert emit["data"] == {"value": 6}
    assert job.trace_log == events


def test_seq_is_strictly_increasing_across_jobs(rt, chain):
    c = chain()
    jobs = [rt.submit(c.flow, data={"values": [1, 2, 3]}) for _ in range(5)]
    for j in jobs:
        j.wait(WAIT)
    for j in jobs:
        seqs = [e.seq for e in j.trace.events()]
        assert seqs == sorted(seqs)
        assert len(set(seqs)) == len(seqs)
        assert [e["event_id"] for e in j.trace.to_list()] == [f"evt-{s}" for s in seqs]
    all_seqs = [e.seq for j in jobs for e in j.trace.events()]
    assert len(set(all_seqs)) == len(all_seqs), "seq is global: no two events of any job share one"


def test_trace_ring_is_bounded_but_total_counts_everything(chain):
    rt = Runtime(monitor=Monitor(trace_size=50))
    try:
        c_values = list(range(100))
        c = chain()
        job = rt.submit(c.flow, data={"values": c_values}).wait(WAIT)
        assert job.status == "completed"
        assert sorted(job.data["out"]) == [2 * v for v in c_values]
        assert len(job.trace) <= 50
        assert len(job.trace) == 50
        assert job.trace.maxlen == 50
        # 100 source emits + 100 double emits alone exceed the ring
        assert job.trace.total >= 200 + 2
        assert job.metrics.total_events == job.trace.total
        kept = job.trace.events()
        assert kept[-1].event_type == "job_end", "the newest events are kept"
        assert "job_start" not in [e.event_type for e in kept], "the oldest events were dropped"
        assert len(job.trace.to_list(limit=7)) == 7
        assert [e["seq"] for e in job.trace.to_list(limit=7)] == [e.seq for e in kept[-7:]]
    finally:
        rt.shutdown()


def test_timestamps_are_iso_8601_with_timezone(rt, chain):
    c = chain()
    job = rt.submit(c.flow, data={"value": 1}).wait(WAIT)
    stamps = [e["timestamp"] for e in job.trace.to_list()]
    assert stamps
    parsed = [datetime.fromisoformat(s) for s in stamps]
    assert all(p.tzinfo is not None and p.utcoffset().total_seconds() == 0 for p in parsed)
    assert parsed == sorted(parsed)
    d = job.to_dict()
    for key in ("created_at", "started_at", "completed_at"):
        assert datetime.fromisoformat(d[key]).tzinfo is not None


def test_trace_to_pandas_schema(rt, chain):
    c = chain()
    job = rt.submit(c.flow, data={"values": [1, 2]}).wait(WAIT)
    df = job.trace.to_pandas()
    assert list(df.columns) == TRACE_COLUMNS
    assert str(df["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert str(df["seq"].dtype) == "int64"
    assert str(df["duration"].dtype) == "float64"
    assert len(df) == len(job.trace)
    assert df["seq"].is_monotonic_increasing
    assert df["event_type"].iloc[0] == "job_start"
    assert df["event_type"].iloc[-1] == "job_end"
    assert set(df["job_id"]) == {job.job_id}
    # timestamps agree with the ISO strings of to_list()
    iso = pd.to_datetime([e["timestamp"] for e in job.trace.to_list()], utc=True)
    assert (abs(df["timestamp"] - pd.Series(iso)) < pd.Timedelta("50us")).all()
    assert list(job.trace.to_pandas(limit=3)["seq"]) == list(df["seq"].iloc[-3:])


def test_routine_error_is_traced_with_strategy(rt):
    from routilux_nb import Flow

    flow = Flow("boom")

    @flow.routine(slots=["input"], events=[], error_handler="continue")
    def explode(input):
        raise ValueError("bad item")

    job = rt.submit(flow, data={"x": 1}).wait(WAIT)
    assert job.status == "completed"
    errors = [e for e in job.trace.to_list() if e["event_type"] == "routine_error"]
    assert len(errors) == 1
    assert errors[0]["routine_id"] == "explode"
    assert errors[0]["detail"] == "ValueError"
    assert errors[0]["data"] == "bad item"
    assert errors[0]["status"] == "continue"
    end = [e for e in job.trace.to_list() if e["event_type"] == "routine_end"]
    assert end[0]["status"] == "error"


def test_monitoring_disabled_runs_flows_and_refuses_trace(chain):
    rt = Runtime(monitor=False)
    try:
        c = chain()
        job = rt.submit(c.flow, data={"values": [1, 2, 3]}).wait(WAIT)
        assert job.status == "completed"
        assert sorted(job.data["out"]) == [2, 4, 6]
        assert job.monitor is None
        with pytest.raises(RuntimeError, match="monitor"):
            job.trace  # noqa: B018
        with pytest.raises(RuntimeError, match="monitor=False"):
            job.metrics  # noqa: B018
        with pytest.raises(RuntimeError, match="monitor"):
            job.output()
        with pytest.raises(RuntimeError, match="monitor"):
            job.debug  # noqa: B018
        assert job.trace_log == []
    finally:
        rt.shutdown()


def test_trace_limit_zero_returns_nothing(rt, chain):
    c = chain()
    job = rt.submit(c.flow, data={"value": 1}).wait(WAIT)
    assert job.worker.history.to_list(limit=0) == []
    assert job.trace.to_list(limit=0) == []
    assert job.trace.events(limit=0) == []
    assert len(job.trace.to_pandas(limit=0)) == 0


def test_monitoring_disabled_worker_views_raise_a_clear_error(chain):
    rt = Runtime(monitor=False)
    try:
        c = chain()
        w = rt.start(c.flow)
        w.submit(data={"value": 1}).wait(WAIT)
        for call in (
            w.statistics,
            w.routine_states,
            lambda: w.history,
            lambda: c.flow.metrics(rt),
            lambda: rt.monitor.add_breakpoint("routine", "double", worker=w),
        ):
            with pytest.raises(RuntimeError, match="monitor"):
                call()
    finally:
        rt.shutdown()
