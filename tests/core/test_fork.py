"""Recorded steps, forking a job from any step, redefining routines, comparing runs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import routilux_nb as rx
from routilux_nb.core import Runtime, StepDropped, StepLimits, StepNotFound
from routilux_nb.core.errors import FlowError, JobStateError, NotFound
from routilux_nb.core.forking import InvalidStepInputs
from routilux_nb.core.steps import STEP_COLUMNS


@pytest.fixture
def srt() -> Iterator[Runtime]:
    """A runtime recording steps."""
    rt = Runtime(record_steps=True)
    yield rt
    rt.shutdown()


def chain(calls: list[str], name: str = "chain") -> rx.Flow:
    """source -> scale -> sink; ``scale`` fails while ``ctx.data["boom"]`` is set."""
    flow = rx.Flow(name)

    @flow.routine(slots=["input"], events=["output"])
    def source(input, ctx):
        calls.append("source")
        ctx.data["seen"] = len(input)
        return [{"x": i["x"] + 1} for i in input]

    @flow.routine(slots=["input"], events=["output"])
    def scale(input, ctx):
        calls.append("scale")
        if ctx.data.get("boom"):
            raise ValueError("scale broke")
        return [{"x": i["x"] * ctx.data.get("factor", 10)} for i in input]

    @flow.routine(slots=["input"], events=[])
    def sink(input, ctx):
        calls.append("sink")
        ctx.data.setdefault("out", []).extend(i["x"] for i in input)

    flow.connect("source.output", "scale.input")
    flow.connect("scale.output", "sink.input")
    return flow


def step_of(job, routine: str) -> int:
    frame = job.steps
    return int(frame[frame.routine == routine].step.iloc[0])


def test_steps_frame_lists_every_activation_with_its_columns(srt):
    job = srt.submit(chain([]), {"x": 1}).wait(5)
    frame = job.steps
    assert list(frame.columns) == STEP_COLUMNS
    assert list(frame.routine) == ["source", "scale", "sink"]
    assert list(frame.status) == ["completed"] * 3
    assert frame.seq.notna().all() and frame.seq.is_monotonic_increasing
    assert (frame.input_items == 1).all() and (frame.input_bytes > 0).all()
    assert frame.data_bytes.iloc[0] < frame.data_bytes.iloc[1]  # {} then {"seen": 1}
    assert str(frame.started_at.dtype) == "datetime64[ns, UTC]"
    assert frame.attrs["dropped"] == 0 and frame.attrs["max_steps"] == StepLimits().max_steps
    step = job.step(step_of(job, "scale"))
    assert step.inputs == {"input": [{"x": 2}]} and step.data == {"seen": 1}


def test_fork_with_recorded_inputs_does_not_rerun_upstream(srt):
    calls: list[str] = []
    job = srt.submit(chain(calls), {"x": 1}).wait(5)
    assert job.data["out"] == [20]
    calls.clear()
    fork = job.fork(step_of(job, "scale")).wait(5)
    assert fork.status == "completed" and fork.data == {"seen": 1, "out": [20]}
    assert calls == ["scale", "sink"]  # the source did not run again
    assert fork.metadata["forked_from"] == job.job_id
    assert fork.metadata["forked_step"] == step_of(job, "scale")
    assert fork.metadata["forked_seq"] == int(job.steps.seq.iloc[1])
    assert list(fork.steps.routine) == ["scale", "sink"]


def test_fork_with_edited_inputs_and_data(srt):
    calls: list[str] = []
    job = srt.submit(chain(calls), {"x": 1}).wait(5)
    sid = step_of(job, "scale")
    edited = job.fork(sid, inputs={"input": [{"x": 5}, {"x": 6}]}).wait(5)
    assert edited.data["out"] == [50, 60]
    data = job.step(sid).copy_data()
    data["factor"] = 3
    rescaled = job.fork(sid, data=data).wait(5)
    assert rescaled.data == {"seen": 1, "factor": 3, "out": [6]}
    assert job.step(sid).data == {"seen": 1}  # the recording is untouched


def test_steps_are_addressable_by_any_trace_seq_of_their_activation(srt):
    job = srt.submit(chain([]), {"x": 1}).wait(5)
    sid = step_of(job, "scale")
    trace = job.trace.to_pandas()
    rows = trace[trace.routine_id == "scale"]
    assert set(rows.event_type) >= {"slot_call", "routine_start", "event_emit", "routine_end"}
    for seq in rows.seq:
        assert job.step(seq=int(seq)).step == sid
    assert job.fork(seq=int(rows.seq.iloc[-1])).wait(5).data["out"] == [20]


def test_redefining_a_routine_then_forking_from_the_failed_step(srt):
    calls: list[str] = []
    flow = chain(calls)
    worker = srt.start(flow)
    job = worker.submit({"x": 1}, job_data={"boom": True}).wait(5)
    assert job.status == "failed" and "scale broke" in job.error
    assert job.steps.status.tolist() == ["completed", "failed"]

    @flow.routine(slots=["input"], events=["output"])
    def scale(input, ctx):  # the fix, as a re-run notebook cell defines it
        calls.append("scale v2")
        return [{"x": i["x"] * 100} for i in input]

    calls.clear()
    fixed = job.fork().wait(5)  # no step given: the failed one
    assert fixed.status == "completed" and fixed.data["out"] == [200]
    assert calls == ["scale v2", "sink"]
    assert fixed.worker is worker  # the running worker took the new function
    assert fixed.data["boom"] is True  # the data as the failed step started


def test_changing_slots_of_a_routine_a_worker_runs_is_refused(srt):
    flow = chain([])
    worker = srt.start(flow)
    with pytest.raises(FlowError, match="slots/events cannot change") as info:

        @flow.routine(slots=["input", "extra"], events=["output"])
        def scale(input, extra):
            return None

    assert worker.worker_id in str(info.value)
    assert list(flow.get_routine("scale").slot_specs) == ["input"]  # the old one stays
    assert len(flow.connections) == 2
    worker.stop()

    @flow.routine(slots=["input", "extra"], events=["output"])
    def scale(input, extra):
        return None

    assert list(flow.get_routine("scale").slot_specs) == ["input", "extra"]


def test_forks_of_forks(srt):
    calls: list[str] = []
    job = srt.submit(chain(calls), {"x": 1}).wait(5)
    first = job.fork(step_of(job, "scale"), inputs={"input": [{"x": 7}]}).wait(5)
    second = first.fork(step_of(first, "sink")).wait(5)
    assert second.data["out"] == [70]
    assert second.metadata["forked_from"] == first.job_id
    assert second.metadata["forked_step"] == step_of(first, "sink")
    assert list(second.steps.routine) == ["sink"]


def test_retry_with_recording_forks_from_the_failed_step_with_current_data(srt):
    calls: list[str] = []
    job = srt.submit(chain(calls), {"x": 1}, job_data={"boom": True}).wait(5)
    assert job.status == "failed"
    job.data["boom"] = False
    calls.clear()
    again = job.retry().wait(5)
    assert again.status == "completed" and again.data["out"] == [20]
    assert calls == ["scale", "sink"]
    assert again.metadata["retry_of"] == job.job_id
    assert again.metadata["forked_step"] == step_of(job, "scale")


def test_unknown_and_dropped_steps_are_refused_clearly():
    rt = Runtime(record_steps=StepLimits(max_steps=3))
    try:
        flow = rx.Flow("many")

        @flow.routine(slots=["input"], events=["output"])
        def fan(input, ctx):
            for i in range(5):
                ctx.emit("output", i=i)

        @flow.routine(slots=["input"], events=[], policy=rx.policies.batch_size(1))
        def each(input):
            return None

        flow.connect("fan.output", "each.input")
        job = rt.submit(flow, {"go": 1}).wait(5)
        frame = job.steps
        assert len(frame) == 3 and frame.attrs["dropped"] == 3  # 6 activations, cap 3
        kept = set(frame.step)
        oldest = job.step_log.dropped_step
        assert oldest is not None and oldest not in kept
        with pytest.raises(StepDropped, match="max_steps=3") as info:
            job.fork(oldest)
        assert "raise the cap" in str(info.value)
        with pytest.raises(StepNotFound, match="activation ids") as missing:
            job.fork(10**9)
        assert isinstance(missing.value, KeyError) and isinstance(missing.value, NotFound)
        with pytest.raises(StepNotFound):
            job.fork(seq=10**12)
    finally:
        rt.shutdown()


def test_bytes_cap_drops_oldest_and_never_holds_more():
    rt = Runtime(record_steps={"max_steps": 100, "max_bytes": 2000})
    try:
        flow = rx.Flow("big")

        @flow.routine(slots=["input"], events=["output"])
        def pad(input, ctx):
            return {"y": "y" * 900}

        @flow.routine(slots=["input"], events=["output"])
        def grow(input, ctx):
            ctx.data["blob"] = "z" * 900
            return {"y": "y" * 900}

        @flow.routine(slots=["input"], events=[])
        def sink(input, ctx):
            return None

        flow.connect("pad.output", "grow.input")
        flow.connect("grow.output", "sink.input")
        job = rt.submit(flow, {"x": "x" * 900}).wait(5)
        log = job.step_log
        # pad ~0.9 kB, grow ~0.9 kB, sink ~1.8 kB (input and data): pad and grow go for sink
        assert job.steps.routine.tolist() == ["sink"] and log.dropped == 2
        assert 0 < log.bytes <= 2000
        with pytest.raises(StepDropped, match="max_bytes=2000"):
            job.fork(log.dropped_step)

        @flow.routine(slots=["input"], events=["output"])
        def pad(input, ctx):  # noqa: F811
            ctx.data["blob"] = "z" * 5000  # the next step's data alone is over the cap
            return {"y": "y"}

        @flow.routine(slots=["input"], events=["output"])
        def grow(input, ctx):  # noqa: F811
            raise RuntimeError("too big")

        failed = rt.submit(flow, {"x": "x"}).wait(5)
        assert failed.status == "failed" and failed.steps.routine.tolist() == ["pad"]
        with pytest.raises(StepDropped, match="the step that failed"):
            failed.fork()
        assert failed.retry().wait(5).status == "failed"  # retried without a recording
    finally:
        rt.shutdown()


def test_recorded_inputs_and_data_are_safe_from_later_mutation(srt):
    flow = rx.Flow("mutating")

    @flow.routine(slots=["input"], events=[])
    def mutate(input, ctx):
        input[0]["x"] = "changed"
        input[0]["nested"]["deep"].append("changed")
        input.append({"x": "added"})
        ctx.data["list"].append("changed")
        ctx.data["new"] = 1

    worker = srt.start(flow)
    job = worker.submit({"x": 1, "nested": {"deep": [1]}}, job_data={"list": [0]}).wait(5)
    assert job.status == "completed"
    step = job.step(int(job.steps.step.iloc[0]))
    assert step.inputs == {"input": [{"x": 1, "nested": {"deep": [1]}}]}
    assert step.data == {"list": [0]}
    fork = job.fork(step).wait(5)
    assert fork.data == {"list": [0, "changed"], "new": 1}
    assert step.data == {"list": [0]} and step.inputs["input"][0]["x"] == 1


def test_invalid_fork_inputs_name_what_is_wrong(srt):
    job = srt.submit(chain([]), {"x": 1}).wait(5)
    sid = step_of(job, "scale")
    with pytest.raises(InvalidStepInputs, match="has no slot 'nope'; its slots: \\['input'\\]"):
        job.fork(sid, inputs={"nope": [{"x": 1}]})
    with pytest.raises(InvalidStepInputs, match=r"inputs\['input'\]\[0\] must be an item"):
        job.fork(sid, inputs={"input": [1]})
    with pytest.raises(InvalidStepInputs, match="no items"):
        job.fork(sid, inputs={"input": []})
    with pytest.raises(InvalidStepInputs, match="data must be a dict"):
        job.fork(sid, data=[1])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="activation id"):
        job.fork("scale")
    with pytest.raises(StepNotFound, match="say which step"):
        job.fork()  # a completed job has no failed step


def test_without_recording_nothing_is_kept_and_retry_still_works(runtime):
    calls: list[str] = []
    job = runtime.submit(chain(calls), {"x": 1}, job_data={"boom": True}).wait(5)
    assert job.step_log is None
    with pytest.raises(JobStateError, match="record_steps=True"):
        _ = job.steps
    with pytest.raises(JobStateError, match="record_steps=True"):
        job.fork(1)
    job.data["boom"] = False
    assert job.retry().wait(5).data["out"] == [20]


def test_compare_identical_and_differing_runs(srt):
    flow = chain([])
    a = srt.submit(flow, {"x": 1}).wait(5)
    b = srt.submit(flow, {"x": 1}).wait(5)
    same = rx.compare(a, b)
    assert same.identical and len(same.to_pandas()) == 0
    assert "identical" in same._repr_html_() and "identical" in repr(same)
    fork = a.fork(step_of(a, "scale"), inputs={"input": [{"x": 3}]}).wait(5)
    diff = a.compare(fork)
    frame = diff.to_pandas()
    assert not diff.identical
    rows = {(r.kind, r.routine, r.key): r for r in frame.itertuples()}
    assert rows[("activations", "source", None)].a == 1
    assert rows[("activations", "source", None)].b == 0
    emitted = rows[("emitted", "scale", "output")]
    assert (emitted.index, emitted.a, emitted.b, emitted.status) == (
        0,
        {"x": 20},
        {"x": 30},
        "differs",
    )
    assert rows[("emitted", "source", "output")].status == "only_a"
    out = rows[("data", None, "out")]
    assert (out.a, out.b, out.status) == ([20], [30], "differs")
    assert ("data", None, "seen") not in rows
    html = diff._repr_html_()
    assert "#ffebe9" in html and "#dafbe1" in html and "{&#x27;x&#x27;: 30}" in html
    assert srt.compare(a.job_id, fork.job_id).rows == diff.rows


def test_an_activation_parked_at_a_breakpoint_can_be_forked_from(srt, wait_until):
    calls: list[str] = []
    flow = chain(calls)
    worker = srt.start(flow)
    bp = srt.monitor.add_breakpoint("routine", "scale", worker=worker)
    job = worker.submit({"x": 1})
    parked = wait_until(lambda: job.parked)[0]
    assert parked.routine_id == "scale" and job.status == "paused"
    srt.monitor.remove_breakpoint(bp.breakpoint_id)
    assert job.step(parked.act_id).status == "parked"
    fork = job.fork(parked.act_id, inputs={"input": [{"x": 9}]}).wait(5)
    assert fork.status == "completed" and fork.data == {"seen": 1, "out": [90]}
    assert calls == ["source", "scale", "sink"]  # the fork ran scale and sink only
    assert fork.metadata["forked_step"] == parked.act_id
    job.cancel()


def test_fork_onto_a_recreated_flow_object(srt):
    calls: list[str] = []
    job = srt.submit(chain(calls, "recreated"), {"x": 1}, job_data={"boom": True}).wait(5)
    assert job.status == "failed"
    again = chain(calls, "recreated")  # the whole cell re-run: a new Flow with the same id

    @again.routine(slots=["input"], events=["output"])
    def scale(input, ctx):
        calls.append("scale v3")
        return [{"x": -i["x"]} for i in input]

    calls.clear()
    fixed = job.fork(flow=again).wait(5)
    assert fixed.status == "completed" and fixed.data["out"] == [-2]
    assert calls == ["scale v3", "sink"]
    assert fixed.worker.flow is again and srt.get_flow("recreated") is again


def test_concurrent_jobs_each_record_their_own_steps(srt):
    worker = srt.start(chain([], "many_jobs"))
    jobs = worker.submit_many([{"x": i} for i in range(60)])
    for i, job in enumerate(jobs):
        job.wait(10)
        frame = job.steps
        assert frame.routine.tolist() == ["source", "scale", "sink"]
        assert job.step(int(frame.step.iloc[1])).inputs == {"input": [{"x": i + 1}]}
        assert job.step(int(frame.step.iloc[2])).data == {"seen": 1}


def test_record_steps_settings_are_checked():
    for setting, limits in ((False, None), (5, StepLimits(max_steps=5)), (True, StepLimits())):
        rt = Runtime(record_steps=setting)
        assert rt.step_limits == limits
        rt.shutdown()
    with pytest.raises(ValueError, match="max_steps >= 1"):
        Runtime(record_steps={"max_steps": 0})
    with pytest.raises(TypeError, match="record_steps must be"):
        Runtime(record_steps="lots")  # type: ignore[arg-type]
    assert rx.runtime().step_limits == StepLimits()  # the notebook's runtime records steps


def test_values_that_cannot_be_copied_are_kept_and_flagged(srt):
    import threading

    class Odd(dict):  # a dict subclass whose copy fails
        def __deepcopy__(self, memo):
            raise RuntimeError("no copies")

    flow = rx.Flow("odd")
    lock = threading.Lock()

    @flow.routine(slots=["input"], events=[])
    def keep(input, ctx):
        ctx.data["ok"] = True

    job = srt.submit(flow, {"x": 1}, job_data={"lock": lock, "odd": Odd(a=1)}).wait(5)
    assert job.status == "completed" and job.data["ok"] is True
    step = job.step(int(job.steps.step.iloc[0]))
    assert step.shared and step.data["lock"] is lock
