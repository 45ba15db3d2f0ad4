"""The engine's per-job state starts at the defaults its fields declare."""

from __future__ import annotations

import dataclasses

from routilux_nb.core._jobrun import JobRun


def test_a_new_job_run_holds_every_declared_default() -> None:
    run = JobRun()
    for f in dataclasses.fields(JobRun):
        expected = (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        )
        assert getattr(run, f.name) == expected, f.name


def test_job_runs_share_no_mutable_state() -> None:
    a, b = JobRun(), JobRun()
    a.keys["r"] = 1  # type: ignore[assignment]
    assert b.keys == {} and a.keys is not b.keys
    assert (b.since, b.last, b.wake, b.seed_data) == (None, None, None, None)


def test_a_finished_job_holds_no_container_the_garbage_collector_walks() -> None:
    import gc

    from routilux_nb.core import Flow, Runtime

    flow = Flow("kept")

    @flow.routine(slots=["input"], events=["output"])
    def first(input, ctx):
        ctx.emit("output", x=1)

    @flow.routine(slots=["input"], events=[])
    def second(input, ctx):
        ctx.data["n"] = len(input)

    flow.connect("first.output", "second.input")
    with Runtime(monitor=False) as rt:
        job = rt.start(flow).submit({"x": 0}).wait(10)
        assert job.status == "completed" and job.data == {"n": 1}
        gc.collect()
        run = job._run
        assert run.keys == {} and run.queued == 0 and run.active == 0
        fresh = JobRun()  # what every job shares (one object each, not one per job)
        own_tracked = [
            f.name
            for f in dataclasses.fields(JobRun)
            if gc.is_tracked(value := getattr(run, f.name))
            and value is not getattr(fresh, f.name)
            and value is not run.done
        ]
        assert own_tracked == []
