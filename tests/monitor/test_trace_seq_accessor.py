"""TraceBuffer.last_start_seq: where an activation's routine_start sits in the job's trace."""

from __future__ import annotations

from routilux_nb import Flow, Runtime


def test_last_start_seq_is_the_seq_of_the_newest_routine_start_of_that_routine():
    flow = Flow("seqs")

    @flow.routine(slots=["input", "extra"], events=["output"])
    def first(input, extra, ctx):
        ctx.emit("output", value=1)
        ctx.emit("output", value=2)

    @flow.routine(slots=["input"], events=[])
    def second(input, ctx):
        pass

    flow.connect("first.output", "second.input")
    rt = Runtime()
    try:
        job = rt.submit(flow, "first", "input", data={}).wait(10)
        assert job.status == "completed", job.error
        trace = job.trace
        starts: dict[str, int] = {}
        for e in trace.events():
            if e.event_type == "routine_start":
                starts[e.routine_id] = e.seq  # the newest wins
        assert set(starts) >= {"first", "second"}
        for rid, seq in starts.items():
            assert trace.last_start_seq(rid) == seq
        assert trace.last_start_seq("nowhere") is None
    finally:
        rt.shutdown()
