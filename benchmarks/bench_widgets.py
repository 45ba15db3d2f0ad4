"""Comm traffic of a live dashboard while a job floods the engine with events.

A ``pump`` routine emits as fast as it can (about 100,000 events/s is the target) for
``SECONDS`` seconds into a ``count`` routine, with ``rx.dashboard(worker)`` attached. Every
message the dashboard's widgets would send to the browser is counted at
``ipywidgets.Widget._send`` (headless: no kernel, the widgets' comms are dummies), with its
JSON size. Prints and returns:

* ``messages_per_s`` / ``bytes_per_s``: comm traffic during the run (bounded by the
  snapshot stream's 10 updates/s, whatever the event rate);
* ``messages_by_widget`` / ``bytes_per_s_by_widget``: the same per widget class;
* ``engine_events_per_s`` (trace events recorded) and ``emits_per_s`` (items emitted);
* ``stream_updates_per_s``: snapshot deliveries to the dashboard.

Run ``python benchmarks/bench_widgets.py``; ``main()`` returns the figures as a dict.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ipywidgets

import routilux_nb as rx
from routilux_nb.notebook import live

SECONDS = 3.0
TARGET_EVENTS_PER_S = 100_000
BATCH = 500


class CommCounter:
    """Counts messages and JSON bytes passing through ``Widget._send``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages = 0
        self.bytes = 0
        self.by_widget: Counter[str] = Counter()
        self.bytes_by_widget: Counter[str] = Counter()

    def record(self, widget: Any, msg: Any, buffers: Any) -> None:
        size = len(json.dumps(msg, default=str, separators=(",", ":")))
        size += sum(len(memoryview(b)) for b in buffers or ())
        with self.lock:
            self.messages += 1
            self.bytes += size
            self.by_widget[type(widget).__name__] += 1
            self.bytes_by_widget[type(widget).__name__] += size

    def reset(self) -> None:
        with self.lock:
            self.messages = self.bytes = 0
            self.by_widget.clear()
            self.bytes_by_widget.clear()


@contextmanager
def counting_sends() -> Iterator[CommCounter]:
    counter = CommCounter()
    original = ipywidgets.Widget._send

    def _send(self: Any, msg: Any, buffers: Any = None) -> None:
        counter.record(self, msg, buffers)
        original(self, msg, buffers)

    ipywidgets.Widget._send = _send  # type: ignore[method-assign]
    try:
        yield counter
    finally:
        ipywidgets.Widget._send = original  # type: ignore[method-assign]


def pump_flow(stop: threading.Event) -> rx.Flow:
    """``pump`` emits batches paced to about ``TARGET_EVENTS_PER_S`` until ``stop``."""
    flow = rx.Flow("bench_widgets")

    @flow.routine(slots=["input"], events=["output"])
    def pump(input: list[dict[str, Any]], ctx: Any) -> None:
        start = time.perf_counter()
        sent = 0
        while not stop.is_set():
            for i in range(BATCH):
                ctx.emit("output", i=i)
            sent += BATCH
            ahead = sent / TARGET_EVENTS_PER_S - (time.perf_counter() - start)
            if ahead > 0:
                time.sleep(ahead)
        ctx.data["emitted"] = sent

    @flow.routine(slots=["input"], events=[])
    def count(input: list[dict[str, Any]], ctx: Any) -> None:
        ctx.data["counted"] = ctx.data.get("counted", 0) + len(input)

    flow.connect("pump.output", "count.input")
    return flow


def main(seconds: float = SECONDS) -> dict[str, Any]:
    stop = threading.Event()
    rt = rx.Runtime()
    try:
        worker = rt.start(pump_flow(stop))
        with counting_sends() as counter:
            board = live.dashboard(worker)
            binding = live.binding_of(board)
            assert binding is not None
            time.sleep(0.3)  # the first, full state is not part of the steady rate
            counter.reset()
            updates0 = binding.updates
            job = worker.submit("pump", "input", {})
            t0 = time.perf_counter()
            time.sleep(seconds)
            events = job.metrics.total_events
            elapsed = time.perf_counter() - t0
            messages, nbytes = counter.messages, counter.bytes
            by_widget = dict(counter.by_widget)
            bytes_by_widget = dict(counter.bytes_by_widget)
            updates = binding.updates - updates0
            stop.set()
            job.wait(30)
            board.close()
        figures: dict[str, Any] = {
            "seconds": round(elapsed, 3),
            "messages_per_s": round(messages / elapsed, 1),
            "bytes_per_s": round(nbytes / elapsed, 1),
            "messages_by_widget": by_widget,
            "bytes_per_s_by_widget": {k: round(v / elapsed) for k, v in bytes_by_widget.items()},
            "stream_updates_per_s": round(updates / elapsed, 1),
            "engine_events_per_s": round(events / elapsed, 1),
            "emits_per_s": round(job.data.get("emitted", 0) / elapsed, 1),
            "items_counted": job.data.get("counted", 0),
        }
    finally:
        stop.set()
        rt.shutdown(wait=False)
    for key, value in figures.items():
        print(f"{key:>24}: {value}")
    return figures


if __name__ == "__main__":
    main()
