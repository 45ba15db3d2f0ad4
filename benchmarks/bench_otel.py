"""OpenTelemetry cost: the engine benchmark's 3-routine chain with and without export.

Prints, in one run (median and best of ``--repeat`` alternating runs):

* items/s for one job whose source emits ``--items`` items through source -> transform -> sink
  (one activation per routine per batch of queued items, so few spans),
* jobs/s for ``--jobs`` one-item jobs (4 spans per job: the job and 3 activations),

for: the default monitor with OpenTelemetry not configured (nothing of it is imported or
installed: the check is printed), export configured with every span sampled and batch-exported
to an exporter that drops them (the SDK's full cost without a network), and configured with
an ``ALWAYS_OFF`` sampler (the hooks' cost alone); with the ratios to the first.

    python benchmarks/bench_otel.py [--items 20000] [--jobs 5000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from bench_engine import build_flow  # the same 3-routine chain

import routilux_nb as rx


def items_per_s(rt: rx.Runtime, n: int) -> float:
    flow = build_flow("items")
    rt.submit(flow, data={"n": 100}).wait(60)
    t0 = time.perf_counter()
    job = rt.submit(flow, data={"n": n}).wait(300)
    dt = time.perf_counter() - t0
    assert job.data["count"] == n, job.data
    return n / dt


def jobs_per_s(rt: rx.Runtime, n: int) -> float:
    flow = build_flow("jobs")
    rt.submit(flow, data={}).wait(60)
    t0 = time.perf_counter()
    jobs = [rt.submit(flow, data={}) for _ in range(n)]
    for job in jobs:
        job.wait(300)
    dt = time.perf_counter() - t0
    assert all(j.status == "completed" for j in jobs)
    return n / dt


def otel_runtime(sampled: bool) -> tuple[rx.Runtime, Callable[[], None]]:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON

    class Drop(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    tp = TracerProvider(sampler=ALWAYS_ON if sampled else ALWAYS_OFF)
    tp.add_span_processor(BatchSpanProcessor(Drop(), max_queue_size=65_536))
    mp = MeterProvider(metric_readers=[InMemoryMetricReader()])

    def close() -> None:
        tp.shutdown()
        mp.shutdown()

    return rx.Runtime(
        otel={"tracer_provider": tp, "meter_provider": mp}, max_finished_jobs=1000
    ), close


CONFIGS = ("not configured", "exported (all spans)", "configured, ALWAYS_OFF")


def one_round(items: int, jobs: int) -> dict[str, tuple[float, float]]:
    out = {}
    for name in CONFIGS:
        if name == "not configured":
            rt, close = rx.Runtime(max_finished_jobs=1000), (lambda: None)
        else:
            rt, close = otel_runtime(sampled=name.startswith("exported"))
        try:
            out[name] = (items_per_s(rt, items), jobs_per_s(rt, jobs))
        finally:
            rt.shutdown()
            close()
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--jobs", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    rt = rx.Runtime()
    rt.submit(build_flow("check"), data={}).wait(10)
    print(
        f"not configured: monitor is {type(rt.monitor).__name__}; opentelemetry imported: "
        f"{any(m.startswith('opentelemetry') for m in sys.modules)}"
    )
    rt.shutdown()

    rounds = [one_round(args.items, args.jobs) for _ in range(args.repeat)]

    def fig(name: str, i: int, pick: Callable[..., float]) -> float:
        return pick(r[name][i] for r in rounds)

    print(
        f"3-routine chain, {args.repeat} alternating runs ({args.items} items in one job; {args.jobs} jobs):"
    )
    for label, pick in (("median", statistics.median), ("best", max)):
        base_items, base_jobs = fig(CONFIGS[0], 0, pick), fig(CONFIGS[0], 1, pick)
        for name in CONFIGS:
            it, jb = fig(name, 0, pick), fig(name, 1, pick)
            print(
                f"  {label:<6} {name:<24} {it:9.0f} items/s ({it / base_items:6.1%})   "
                f"{jb:7.0f} jobs/s ({jb / base_jobs:6.1%})"
            )
    print(
        "(one job of many items has few activations, so its figure moves with machine load,"
        " not export)"
    )


if __name__ == "__main__":
    main()
