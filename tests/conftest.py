"""The shared test harness: a runtime that shuts down, event-driven waits, flow builders.

Every test runs real flows on a real :class:`Runtime` (real threads, real timers); the
helpers here only build flows and wait for conditions. They are handed to tests as fixtures
(``runtime``, ``wait_until``, ``recorder``, ``source_flow``, ``chain_flow``, ``finished``,
``thread_count_settles``) so that no test module imports this file by name. The routine
registry is put back as it was after every test, so names a test registers do not leak.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import routilux_nb  # noqa: F401  (registers the builtins and the monitor)
from routilux_nb.core import Flow, JobContext, Runtime, registry


@pytest.fixture
def runtime() -> Iterator[Runtime]:
    """A fresh monitored runtime, shut down after the test."""
    rt = Runtime()
    yield rt
    rt.shutdown()


@pytest.fixture(autouse=True)
def _registry_restored() -> Iterator[None]:
    state = registry.snapshot()
    yield
    registry.restore(state)


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.005) -> Any:
    """Poll ``predicate`` until it returns something truthy (and return that); fail the test
    after ``timeout`` seconds. Timeouts are generous: they only bound a failing test."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {predicate}")
        time.sleep(interval)


class Recorder:
    """A thread-safe list of what routines saw (shared between routine threads and the test)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.items: list[Any] = []

    def add(self, value: Any) -> None:
        with self._lock:
            self.items.append(value)

    def snapshot(self) -> list[Any]:
        with self._lock:
            return list(self.items)

    def __len__(self) -> int:
        with self._lock:
            return len(self.items)


def source_flow(
    flow_id: str,
    n: int = 3,
    key: str = "out",
    sink_policy: Any = None,
    sink_slot: dict[str, Any] | None = None,
) -> Flow:
    """``source -> sink``: the source emits ``n`` items ``{"i": 0..n-1}`` (count from job data
    ``{"n": ...}`` when given); the sink appends every ``i`` to ``ctx.data[key]``."""
    flow = Flow(flow_id)

    @flow.routine(slots=["input"], events=["output"])
    def source(input, ctx):
        count = input[0].get("n", n)
        for i in range(count):
            ctx.emit("output", i=i, tag=input[0].get("tag"))

    options: dict[str, Any] = {}
    if sink_policy is not None:
        options["policy"] = sink_policy

    @flow.routine(slots=["input"], events=[], **options)
    def sink(input, ctx):
        ctx.data.setdefault(key, []).extend(item["i"] for item in input)

    if sink_slot:
        flow.routines["sink"].define_slot("input", **sink_slot)
    flow.connect("source.output", "sink.input")
    return flow


def chain_flow(flow_id: str, length: int = 3) -> Flow:
    """``r0 -> r1 -> ... -> sink``: each step adds one to ``v``; the sink keeps the values."""
    flow = Flow(flow_id)
    for k in range(length):

        def step(input, k=k):
            return [
                {"v": item["v"] + 1, "path": [*item.get("path", []), f"r{k}"]} for item in input
            ]

        flow.routine(step, routine_id=f"r{k}")
    for k in range(length - 1):
        flow.connect(f"r{k}.output", f"r{k + 1}.input")

    @flow.routine(slots=["input"], events=[])
    def sink(input, ctx):
        ctx.data.setdefault("out", []).extend(input)

    flow.connect(f"r{length - 1}.output", "sink.input")
    return flow


def finished(job: JobContext, timeout: float = 5.0) -> JobContext:
    """Wait for ``job`` and assert it completed (showing its error otherwise)."""
    job.wait(timeout)
    assert job.status == "completed", (job.status, job.error)
    return job


def thread_count_settles(target: int, timeout: float = 2.0) -> int:
    """Poll ``threading.active_count()`` until it is at most ``target``; return the last count."""
    deadline = time.monotonic() + timeout
    count = threading.active_count()
    while count > target and time.monotonic() < deadline:
        time.sleep(0.02)
        count = threading.active_count()
    return count


@pytest.fixture(name="wait_until")
def _wait_until_fixture() -> Callable[..., Any]:
    return wait_until


@pytest.fixture(name="recorder")
def _recorder_fixture() -> Callable[[], Recorder]:
    return Recorder


@pytest.fixture(name="source_flow")
def _source_flow_fixture() -> Callable[..., Flow]:
    return source_flow


@pytest.fixture(name="chain_flow")
def _chain_flow_fixture() -> Callable[..., Flow]:
    return chain_flow


@pytest.fixture(name="finished")
def _finished_fixture() -> Callable[..., JobContext]:
    return finished


@pytest.fixture(name="thread_count_settles")
def _thread_count_settles_fixture() -> Callable[..., int]:
    return thread_count_settles
