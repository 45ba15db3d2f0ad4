"""A flow whose routines are made with ``@flow.routine`` at module level (importable)."""

from __future__ import annotations

import os

from routilux_nb.core import Flow

flow = Flow("decorated")


@flow.routine(slots=["input"], events=["output"])
def source(input, ctx):
    for item in input:
        ctx.emit("output", value=item["n"] * 10, pid=os.getpid())


@flow.routine(slots=["input"], events=[])
def sink(input, ctx):
    ctx.data.setdefault("seen", []).extend((i["value"], i["pid"]) for i in input)


flow.connect("source.output", "sink.input")
