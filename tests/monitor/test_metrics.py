"""Metrics of jobs, workers and flows; routine states; queue status and pressure levels."""

from __future__ import annotations

from datetime import datetime

import pytest

from routilux_nb import Flow, Runtime, Slot
from routilux_nb.monitor import Monitor
from routilux_nb.monitor.frames import HISTORY_COLUMNS

WAIT = 2.0

ROUTINE_METRIC_FIELDS = {
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
}
ERROR_FIELDS = {
    "error_id",
    "job_id",
    "routine_id",
    "timestamp",
    "error_type",
    "error_message",
    "traceback",
}
QUEUE_FIELDS = {
    "unconsumed_count",
    "total_count",
    "max_length",
    "watermark_threshold",
    "usage_percentage",
    "pressure_level",
    "is_full",
    "is_near_full",
}


def _aware(ts: str) -> datetime:
    parsed = datetime.fromisoformat(ts)
    assert parsed.tzinfo is not None, ts
    return parsed


def flaky_flow(flow_id: str = "flaky") -> Flow:
    """``check`` fails (strategy ``continue``) on negative values; ``keep`` stores the rest."""
    flow = Flow(flow_id)

    @flow.routine(slots=["input"], events=["output"])
    def split(input, ctx):
        for item in input:
            for v in item["values"]:
                ctx.emit("output", value=v)

    @flow.routine(slots=["input"], events=["output"], error_handler="continue")
    def check(input):
        for item in input:
            if item["value"] < 0:
                raise ValueError(f"negative value {item['value']}")
        return [{"value": i["value"]} for i in input]

    @flow.routine(slots=["input"], events=[])
    def keep(input, ctx):
        ctx.data.setdefault("kept", []).extend(i["value"] for i in input)

    flow.connect("split.output", "check.input")
    flow.connect("check.output", "keep.input")
    return flow


def failing_flow(flow_id: str = "failing") -> Flow:
    flow = Flow(flow_id)

    @flow.routine(slots=["input"], events=[])
    def work(input):
        if any(i.get("fail") for i in input):
            raise RuntimeError("asked to fail")

    return flow


# -- job metrics ---------------------------------------------------------------------------
def test_job_metrics_have_the_spec_fields(rt, chain):
    c = chain()
    job = rt.submit(c.flow, data={"values": [1, 2, 3]}).wait(WAIT)
    m = job.metrics.to_dict()
    assert set(m) == {
        "job_id",
        "flow_id",
        "start_time",
        "end_time",
        "duration",
        "routine_metrics",
        "total_events",
        "total_slot_calls",
        "total_event_emits",
        "unrouted_emits",
        "errors",
    }
    assert m["job_id"] == job.job_id
    assert m["flow_id"] == "chain"
    assert _aware(m["start_time"]) <= _aware(m["end_time"])
    assert m["duration"] == pytest.approx(job.duration)
    assert m["duration"] > 0
    assert set(m["routine_metrics"]) == {"source", "double", "sink"}
    for rid, rm in m["routine_metrics"].items():
        assert set(rm) == ROUTINE_METRIC_FIELDS
        assert rm["routine_id"] == rid
        assert rm["execution_count"] == c.count(rid)
        assert rm["execution_count"] >= 1
        assert rm["error_count"] == 0
        assert 0 <= rm["min_duration"] <= rm["avg_duration"] <= rm["max_duration"]
        assert rm["total_duration"] == pytest.approx(rm["avg_duration"] * rm["execution_count"])
        _aware(rm["last_execution"])
    assert m["routine_metrics"]["source"]["execution_count"] == 1
    # 3 source emits + 3 double outputs
    assert m["total_event_emits"] == 6
    # the 3 items reach double and sink (1 at source): slot calls count items taken
    assert m["total_slot_calls"] == 1 + 3 + 3
    assert m["total_events"] == job.trace.total
    assert m["errors"] == []
    emits = [e for e in job.trace.to_list() if e["event_type"] == "event_emit"]
    assert len(emits) == m["total_event_emits"]


def test_job_metrics_record_errors_with_traceback(rt):
    flow = flaky_flow()
    job = rt.submit(flow, data={"values": [1, -2, 3]}).wait(WAIT)
    assert job.status == "completed"  # strategy continue
    m = job.metrics.to_dict()
    assert m["routine_metrics"]["check"]["error_count"] >= 1
    assert len(m["errors"]) == m["routine_metrics"]["check"]["error_count"]
    err = m["errors"][0]
    assert ERROR_FIELDS <= set(err)
    assert err["job_id"] == job.job_id
    assert err["routine_id"] == "check"
    assert err["error_type"] == "ValueError"
    assert "negative value -2" in err["error_message"]
    assert "Traceback" in err["traceback"] and "ValueError" in err["traceback"]
    assert err["error_id"]
    _aware(err["timestamp"])


def test_job_metrics_to_pandas_rows_match(rt, chain):
    c = chain()
    job = rt.submit(c.flow, data={"values": [1, 2]}).wait(WAIT)
    df = job.metrics.to_pandas()
    assert sorted(df["routine_id"]) == ["double", "sink", "source"]
    by_id = df.set_index("routine_id")
    for rid, rm in job.metrics.to_dict()["routine_metrics"].items():
        assert by_id.loc[rid, "execution_count"] == rm["execution_count"]
        assert by_id.loc[rid, "total_duration"] == pytest.approx(rm["total_duration"])


# -- worker statistics and history ---------------------------------------------------------
def test_worker_statistics(rt):
    flow = failing_flow()
    w = rt.start(flow)
    jobs = [w.submit(data={"fail": i == 1}) for i in range(3)]
    for j in jobs:
        j.wait(WAIT)
    assert [j.status for j in jobs] == ["completed", "failed", "completed"]
    s = w.statistics()
    assert s["worker_id"] == w.worker_id
    assert s["flow_id"] == "failing"
    assert s["jobs_processed"] == 3
    assert s["jobs_failed"] == 1
    assert s["success_rate"] == pytest.approx(2 / 3, abs=1e-3)
    assert s["average_job_duration"] > 0
    rs = s["routine_statistics"]["work"]
    assert rs["execution_count"] == 3
    assert rs["error_count"] == 1
    assert rs["avg_duration"] == pytest.approx(rs["total_duration"] / 3)
    d = w.to_dict()
    assert (d["jobs_processed"], d["jobs_failed"]) == (3, 1)
    assert jobs[1].error and "asked to fail" in jobs[1].error
    assert "RuntimeError" in jobs[1].error_traceback


def test_worker_statistics_before_any_job(rt, chain):
    w = rt.start(chain().flow)
    s = w.statistics()
    assert s["jobs_processed"] == 0
    assert s["jobs_failed"] == 0
    assert s["success_rate"] is None
    assert s["routine_statistics"] == {}


def test_worker_history_is_bounded_newest_first(make_runtime, chain):
    rt = make_runtime(monitor=Monitor(history_size=5))
    c = chain()
    w = rt.start(c.flow)
    job = w.submit(data={"values": list(range(10))}).wait(WAIT)
    assert job.status == "completed"
    assert len(w.history) == 5  # 20 emits happened
    rows = w.history.to_list()
    assert len(rows) == 5
    assert set(rows[0]) == {"seq", "routine_id", "job_id", "event_name", "data", "timestamp"}
    assert all(r["job_id"] == job.job_id and r["event_name"] == "output" for r in rows)
    assert all(r["routine_id"] in ("source", "double") for r in rows)
    newest_emit = max(e["seq"] for e in job.trace.to_list() if e["event_type"] == "event_emit")
    assert newest_emit in [r["seq"] for r in rows]
    assert len(w.history.to_list(limit=2)) == 2
    assert w.history.to_list(limit=2, offset=1) == rows[1:3]
    for r in rows:
        _aware(r["timestamp"])


def test_worker_history_filter_and_pandas(rt, chain):
    c = chain()
    w = rt.start(c.flow)
    w.submit(data={"values": [1, 2, 3]}).wait(WAIT)
    doubled = w.history.to_list(routine_id="double")
    assert sorted(r["data"]["value"] for r in doubled) == [2, 4, 6]
    assert len(w.history.to_list(routine_id="source")) == 3
    assert w.history.to_list(routine_id="sink") == []
    df = w.history.to_pandas()
    assert list(df.columns) == HISTORY_COLUMNS
    assert str(df["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert str(df["seq"].dtype) == "int64"
    assert len(df) == 6
    assert len(w.history.to_pandas(routine_id="double")) == 3


def test_routine_states_after_runs_and_errors(rt):
    flow = flaky_flow("states")
    w = rt.start(flow)
    before = w.routine_states()
    assert set(before) == {"split", "check", "keep"}
    assert all(s["status"] == "idle" and s["execution_count"] == 0 for s in before.values())
    w.submit(data={"values": [-1]}).wait(WAIT)
    states = w.routine_states()
    assert states["check"]["status"] == "error"
    assert states["check"]["error_count"] == 1
    assert "negative value -1" in states["check"]["last_error"]
    assert states["split"]["status"] == "idle"
    assert states["split"]["execution_count"] == 1
    assert states["keep"]["execution_count"] == 0
    assert states["keep"]["last_execution"] is None
    _aware(states["split"]["last_execution"])


# -- flow metrics --------------------------------------------------------------------------
def test_flow_metrics(rt):
    flow = failing_flow("fm")
    jobs = [rt.submit(flow, data={"fail": i % 4 == 0}) for i in range(8)]
    for j in jobs:
        j.wait(WAIT)
    fm = rt.monitor.flow_metrics("fm")
    assert fm["flow_id"] == "fm"
    assert fm["total_jobs"] == 8
    assert fm["completed_jobs"] == 6
    assert fm["failed_jobs"] == 2
    assert fm["cancelled_jobs"] == 0
    assert fm["success_rate"] == pytest.approx(0.75)
    assert fm["average_duration"] == pytest.approx(sum(j.duration for j in jobs) / 8)
    assert sorted(m["job_id"] for m in fm["job_metrics"]) == sorted(j.job_id for j in jobs)
    statuses = {m["job_id"]: m["status"] for m in fm["job_metrics"]}
    assert all(statuses[j.job_id] == j.status for j in jobs)
    assert fm["routine_metrics"]["work"]["execution_count"] == 8
    assert fm["routine_metrics"]["work"]["error_count"] == 2
    via_flow = flow.metrics(rt)
    assert {k: v for k, v in via_flow.items() if k != "routine_metrics"} == {
        k: v for k, v in fm.items() if k != "routine_metrics"
    }


def test_flow_metrics_merge_workers_and_ignore_other_flows(rt, chain):
    c = chain("merged")
    other = chain("other")
    w1, w2 = rt.start(c.flow), rt.start(c.flow)
    w1.submit(data={"value": 1}).wait(WAIT)
    w2.submit(data={"value": 1}).wait(WAIT)
    rt.submit(other.flow, data={"value": 1}).wait(WAIT)
    fm = rt.monitor.flow_metrics("merged")
    assert fm["total_jobs"] == 2
    assert fm["routine_metrics"]["double"]["execution_count"] == 2
    assert rt.monitor.flow_metrics("other")["total_jobs"] == 1
    empty = rt.monitor.flow_metrics("never-ran")
    assert empty["total_jobs"] == 0 and empty["success_rate"] is None and empty["job_metrics"] == []


def test_cancelled_jobs_count_in_flow_metrics(rt, chain):
    c = chain("cancel", gated=True)
    job = rt.submit(c.flow, data={"value": 1})
    job.cancel("test")
    c.gate.set()
    assert job.status == "cancelled"
    fm = rt.monitor.flow_metrics("cancel")
    assert fm["cancelled_jobs"] == 1
    assert fm["completed_jobs"] == 0
    assert fm["success_rate"] is None


# -- per-job routine status and monitoring --------------------------------------------------
def test_job_routine_status_and_monitoring_shape(rt, chain):
    c = chain()
    job = rt.submit(c.flow, data={"value": 2}).wait(WAIT)
    st = rt.monitor.job_routine_status(job)
    assert set(st) == {"source", "double", "sink"}
    for rid, s in st.items():
        assert set(s) == {
            "routine_id",
            "is_active",
            "status",
            "last_execution_time",
            "execution_count",
            "error_count",
            "active_thread_count",
        }
        assert s["routine_id"] == rid
        assert s["status"] == "completed"
        assert s["is_active"] is False and s["active_thread_count"] == 0
        assert s["execution_count"] == 1
        _aware(s["last_execution_time"])
    mon = rt.monitor.job_monitoring(job)
    assert set(mon) == {"job_id", "flow_id", "job_status", "routines", "updated_at"}
    assert (
        mon["job_id"] == job.job_id
        and mon["flow_id"] == "chain"
        and mon["job_status"] == "completed"
    )
    _aware(mon["updated_at"])
    for rid, r in mon["routines"].items():
        assert set(r) == {"routine_id", "execution_status", "queue_status", "info"}
        assert r["execution_status"] == st[rid]
        assert [q["slot_name"] for q in r["queue_status"]] == ["input"]
        assert QUEUE_FIELDS <= set(r["queue_status"][0])
        assert r["info"]["routine_id"] == rid
        assert r["info"]["activation_policy"]["type"] == "immediate"
    assert mon["routines"]["double"]["info"]["config"] == {"factor": 2}


def test_job_routine_status_while_paused_and_idle(rt, chain, until):
    c = chain()
    w = rt.start(c.flow)
    bp = rt.monitor.add_breakpoint("routine", "double", worker=w)
    job = w.submit(data={"value": 1})
    assert job.debug.wait_paused(WAIT)
    # the source's activation ends right after its emit was parked downstream
    until(lambda: rt.monitor.job_routine_status(job)["source"]["status"] == "completed")
    st = rt.monitor.job_routine_status(job)
    assert st["double"]["status"] == "paused"
    assert st["sink"]["status"] == "idle"
    assert st["sink"]["last_execution_time"] is None
    rt.monitor.remove_breakpoint(bp.breakpoint_id)
    job.debug.resume()
    job.wait(WAIT)
    assert rt.monitor.job_routine_status(job)["sink"]["status"] == "completed"


def test_running_routine_status(rt, chain, until):
    c = chain(gated=True)
    w = rt.start(c.flow)
    job = w.submit(data={"value": 1})
    until(lambda: c.count("source") == 1)
    st = rt.monitor.job_routine_status(job)["source"]
    assert (st["status"], st["is_active"], st["active_thread_count"]) == ("running", True, 1)
    ws = w.routine_states()["source"]
    assert (ws["status"], ws["active"]) == ("running", 1)
    assert rt.monitor.job_monitoring(job)["job_status"] == "running"
    c.gate.set()
    job.wait(WAIT)
    assert w.routine_states()["source"]["status"] == "idle"
    assert rt.monitor.job_routine_status(job)["source"]["status"] == "completed"


# -- queue status and pressure -------------------------------------------------------------
@pytest.mark.parametrize(
    ("queued", "watermark", "level", "near_full", "full"),
    [
        (0, 0.8, "low", False, False),
        (5, 0.8, "low", False, False),
        (6, 0.8, "medium", False, False),
        (7, 0.8, "medium", False, False),
        (8, 0.8, "high", True, False),
        (9, 0.8, "high", True, False),
        (10, 0.8, "critical", True, True),
        (8, 0.9, "medium", False, False),
        (9, 0.9, "high", True, False),
        (6, 0.5, "high", True, False),
    ],
)
def test_pressure_levels_on_a_paused_worker(rt, chain, queued, watermark, level, near_full, full):
    c = chain(source_slot=Slot("input", max_length=10, watermark=watermark))
    w = rt.start(c.flow)
    w.pause()
    jobs = [w.submit(data={"value": i}) for i in range(queued)]
    status = w.queue_status()
    assert set(status) == {"source", "double", "sink"}
    q = status["source"][0]
    assert set(q) == QUEUE_FIELDS | {"slot_name", "routine_id"}
    assert (q["routine_id"], q["slot_name"]) == ("source", "input")
    assert q["unconsumed_count"] == queued
    assert q["total_count"] == queued
    assert q["max_length"] == 10
    assert q["watermark_threshold"] == int(10 * watermark)
    assert q["usage_percentage"] == pytest.approx(queued / 10)
    assert q["pressure_level"] == level
    assert q["is_near_full"] is near_full
    assert q["is_full"] is full
    assert all(j.status == "pending" for j in jobs)
    assert c.count("source") == 0
    if jobs:
        # per job: one item each
        per_job = w.queue_status(jobs[0].job_id)["source"][0]
        assert per_job["unconsumed_count"] == 1
        assert per_job["pressure_level"] == "low"
    w.resume()
    for j in jobs:
        assert j.wait(WAIT).status == "completed"
    after = w.queue_status()["source"][0]
    assert after["unconsumed_count"] == 0
    assert after["total_count"] == queued
    assert after["pressure_level"] == "low"
    assert c.count("source") == queued  # one activation per job: items of jobs never meet


def test_queue_status_of_a_paused_job_downstream(rt, chain, until):
    c = chain(double_slot=Slot("input", max_length=10), gated=True)
    w = rt.start(c.flow)
    job = w.submit(data={"values": list(range(8))})
    until(lambda: c.count("source") == 1)
    job.pause()  # source is running (held by the gate); nothing new may start
    assert job.status == "paused"
    c.gate.set()
    until(lambda: w.queue_status()["double"][0]["unconsumed_count"] == 8)
    q = w.queue_status(job.job_id)["double"][0]
    assert q["pressure_level"] == "high"
    assert q["is_near_full"] is True and q["is_full"] is False
    assert c.count("double") == 0
    assert job.status == "paused"
    job.resume()
    assert job.wait(WAIT).status == "completed"
    assert sorted(job.data["out"]) == [2 * v for v in range(8)]
    q = w.queue_status()["double"][0]
    assert (q["unconsumed_count"], q["total_count"], q["pressure_level"]) == (0, 8, "low")


def test_no_monitor_still_reports_queue_status():
    rt = Runtime(monitor=False)
    try:
        flow = failing_flow("nomon")
        w = rt.start(flow)
        w.pause()
        w.submit(data={})
        assert w.queue_status()["work"][0]["unconsumed_count"] == 1
        w.resume()
        rt.wait_all(WAIT)
        assert w.queue_status()["work"][0]["unconsumed_count"] == 0
    finally:
        rt.shutdown()
