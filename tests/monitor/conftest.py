"""Fixtures for the monitoring and debugging tests: a real runtime and real flows.

``chain()`` builds ``source -> double -> sink`` with ``@flow.routine``:

* ``source`` emits one ``{"value": v}`` per entry of the submitted ``values`` (or the single
  submitted ``value``), optionally printing each line it is given in ``lines``;
* ``double`` emits ``value * factor`` (``factor`` from its config, default 2);
* ``sink`` appends what it receives to ``job.data["out"]``.

Every routine counts its activations in ``Chain.calls`` (thread-safe), so a test can tell
whether logic ran. ``fanout=True`` adds ``audit`` fed by ``double.output`` as well.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from routilux_nb import Flow, Runtime, Slot

#: every wait in these tests is bounded by this many seconds (a hang fails, it never blocks)
WAIT = 2.0


@dataclass
class Chain:
    flow: Flow
    calls: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: set by a test to hold ``source`` (the routine waits on it, bounded)
    gate: threading.Event | None = None

    def hit(self, rid: str) -> None:
        with self.lock:
            self.calls[rid] += 1

    def count(self, rid: str) -> int:
        with self.lock:
            return self.calls[rid]


def build_chain(
    flow_id: str = "chain",
    *,
    fanout: bool = False,
    source_slot: Slot | str = "input",
    double_slot: Slot | str = "input",
    factor: int = 2,
    gated: bool = False,
) -> Chain:
    flow = Flow(flow_id)
    chain = Chain(flow, gate=threading.Event() if gated else None)

    @flow.routine(slots=[source_slot], events=["output"])
    def source(input: list[dict[str, Any]], ctx: Any) -> None:
        chain.hit("source")
        if chain.gate is not None:
            chain.gate.wait(WAIT)
        for item in input:
            for line in item.get("lines", ()):
                print(line)
            values = item.get("values", [item.get("value", 1)])
            for v in values:
                ctx.emit("output", value=v)

    @flow.routine(slots=[double_slot], events=["output"], config={"factor": factor})
    def double(input: list[dict[str, Any]], ctx: Any) -> list[dict[str, Any]]:
        chain.hit("double")
        return [{"value": i["value"] * ctx.config["factor"]} for i in input]

    @flow.routine(slots=["input"], events=[])
    def sink(input: list[dict[str, Any]], ctx: Any) -> None:
        chain.hit("sink")
        ctx.data.setdefault("out", []).extend(i["value"] for i in input)

    flow.connect("source.output", "double.input")
    flow.connect("double.output", "sink.input")
    if fanout:

        @flow.routine(slots=["input"], events=[])
        def audit(input: list[dict[str, Any]], ctx: Any) -> None:
            chain.hit("audit")
            ctx.data.setdefault("audited", []).extend(i["value"] for i in input)

        flow.connect("double.output", "audit.input")
    return chain


def wait_until(predicate: Callable[[], Any], timeout: float = WAIT, interval: float = 0.005) -> Any:
    """Poll ``predicate`` until it is truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {predicate}")
        time.sleep(interval)


@pytest.fixture
def rt() -> Iterator[Runtime]:
    runtime = Runtime()
    yield runtime
    runtime.shutdown()


@pytest.fixture
def make_runtime() -> Iterator[Callable[..., Runtime]]:
    """``make_runtime(**kwargs)``: a Runtime with options, shut down after the test."""
    made: list[Runtime] = []

    def factory(**kwargs: Any) -> Runtime:
        runtime = Runtime(**kwargs)
        made.append(runtime)
        return runtime

    yield factory
    for runtime in made:
        runtime.shutdown()


@pytest.fixture
def chain() -> Callable[..., Chain]:
    """``chain(flow_id="chain", fanout=False, ...)``: a fresh source -> double -> sink flow."""
    return build_chain


@pytest.fixture
def until() -> Callable[..., Any]:
    return wait_until
