"""Payload policy benchmark: what protecting DataFrames and arrays between routines costs.

A 3-routine chain source -> transform -> sink (as in ``bench_engine.py``) whose items carry
one payload: a plain value, a DataFrame of 50×15 or 10,000×15 (passed on as it is, or with
one pandas reduction in the middle routine, as a real routine would do), or a float64 array
of 10,000×15. Each is run under the three payload policies in the same process: ``protect``
(the default: lazy copy-on-write copies of frames, read-only views of arrays), ``copy``
(arrays copied in full) and ``share`` (the same objects passed on: the reference pass);
medians of ``--repeat`` runs (the policies' order rotates between runs), and the ratio of
each to ``share``. Also prints the cost of the policy's check on a plain dict item.

    python benchmarks/bench_payloads.py [--repeat 5] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

import routilux_nb as rx
from routilux_nb.core.payloads import owned, set_payload_policy


def build_flow(name: str) -> rx.Flow:
    flow = rx.Flow(name)

    @flow.routine(slots=["input"], events=["output"])
    def source(input, ctx):
        for item in input:
            value = item["value"]
            for _ in range(item["n"]):
                ctx.emit("output", value=value, work=item.get("work", False))

    @flow.routine(slots=["input"], events=["output"])
    def transform(input, ctx):
        for item in input:
            if item.get("work"):  # one pandas reduction, as a real routine would do
                ctx.data["mean"] = float(item["value"].iloc[:, 0].mean())
            ctx.emit("output", value=item["value"])

    @flow.routine(slots=["input"], events=[])
    def sink(input, ctx):
        ctx.data["count"] = ctx.data.get("count", 0) + len(input)

    flow.connect("source.output", "transform.input")
    flow.connect("transform.output", "sink.input")
    return flow


def frame(rows: int) -> pd.DataFrame:
    data = {f"c{i}": np.random.default_rng(i).random(rows) for i in range(14)}
    data["label"] = [f"r{i % 97}" for i in range(rows)]
    return pd.DataFrame(data)


def items_per_second(worker: rx.Worker, value: Any, n: int, work: bool = False) -> float:
    t0 = time.perf_counter()
    job = worker.submit(data={"value": value, "n": n, "work": work})
    job.wait(600)
    elapsed = time.perf_counter() - t0
    assert job.status == "completed" and job.data["count"] == n, (job.status, job.error)
    return n / elapsed


def owned_ns(item: dict[str, Any], calls: int = 200_000) -> float:
    t0 = time.perf_counter()
    for _ in range(calls):
        owned(item)
    return (time.perf_counter() - t0) / calls * 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="fewer items (a smoke run)")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    cases: list[tuple[str, Callable[[], Any], int, bool]] = [
        ("plain value", lambda: 1, 20_000 // scale, False),
        ("DataFrame 50×15", lambda: frame(50), 5_000 // scale, False),
        ("DataFrame 10,000×15", lambda: frame(10_000), 2_000 // scale, False),
        ("DataFrame 10,000×15 + a mean", lambda: frame(10_000), 2_000 // scale, True),
        (
            "ndarray float64 (10000, 15)",
            lambda: np.random.default_rng(0).random((10_000, 15)),
            1_000 // scale,
            False,
        ),
    ]
    rt = rx.Runtime()
    try:
        worker = rt.start(build_flow("payloads"))
        items_per_second(worker, 1, 1_000)  # warm up
        policies = ("protect", "copy", "share")
        print(f"payload policies, 3-routine chain, medians of {args.repeat} runs (items/s)")
        print(
            f"{'payload':<30}"
            + "".join(f"{p:>11}" for p in policies)
            + "  protect/share  copy/share"
        )
        for label, make, n, work in cases:
            value = make()
            runs: dict[str, list[float]] = {p: [] for p in policies}
            for r in range(args.repeat):
                for policy in policies[r % 3 :] + policies[: r % 3]:  # rotate the order
                    set_payload_policy(policy)
                    runs[policy].append(items_per_second(worker, value, n, work))
            med = {p: statistics.median(runs[p]) for p in policies}
            print(
                f"{label:<30}"
                + "".join(f"{med[p]:>11,.0f}" for p in policies)
                + f"{med['protect'] / med['share']:>15.2f}{med['copy'] / med['share']:>12.2f}"
            )
        set_payload_policy("protect")
        plain = {"value": 1, "tag": "x"}
        with_frame = {"value": frame(50)}
        print(
            f"owned() per delivery: plain dict {owned_ns(plain):.0f} ns, "
            f"50×15 frame {owned_ns(with_frame, 20_000):.0f} ns"
        )
    finally:
        set_payload_policy("protect")
        rt.shutdown()


if __name__ == "__main__":
    main()
