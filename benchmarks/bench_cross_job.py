"""Concurrent jobs through one shared slot: the router-into-two-aggregators shape.

A source emits ``--rows`` rows per job one by one, a conditional router sends each to one of
two aggregators (which hold a job's rows until its upstream is done), a fit routine takes
both aggregates. ``--jobs`` jobs are submitted at once. Prints, per configuration (slot
``max_length`` and the worker's ``max_active_jobs``), the medians over ``--repeat`` runs of:
jobs completed, jobs/s, and the blocked time (seconds routines waited for room in full
slots, summed over all jobs) next to the run time of the router.

    python benchmarks/bench_cross_job.py [--jobs 60] [--rows 180] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import routilux_nb as rx
from routilux_nb.builtins import Aggregator, ConditionalRouter
from routilux_nb.core.admission import DEFAULT_MAX_ACTIVE_JOBS


def split_flow(name: str, max_length: int | None) -> rx.Flow:
    flow = rx.Flow(name)

    @flow.routine(slots=["input"], events=["output"])
    def source(input: list[dict[str, Any]], ctx: Any) -> None:
        for i in range(input[0]["rows"]):
            ctx.emit("output", i=i, split="test" if i % 3 == 0 else "train")

    flow.add_routine(ConditionalRouter(routes={"train": "split == 'train'"}), "router")
    flow.add_routine(Aggregator(), "train_rows")
    flow.add_routine(Aggregator(), "test_rows")

    @flow.routine(slots=["train", "test"], events=[], policy=rx.policies.all_slots_ready())
    def fit(train: list[dict[str, Any]], test: list[dict[str, Any]], ctx: Any) -> None:
        ctx.data["counts"] = (train[0]["count"], test[0]["count"])

    if max_length is not None:
        for rid in ("train_rows", "test_rows"):
            flow.routines[rid].define_slot("input", max_length=max_length, put_timeout=30)
    flow.connect("source.output", "router.input")
    flow.connect("router.train", "train_rows.input")
    flow.connect("router.default", "test_rows.input")
    flow.connect("train_rows.output", "fit.train")
    flow.connect("test_rows.output", "fit.test")
    return flow


def one_run(jobs: int, rows: int, max_length: int | None, active: int | None) -> dict[str, float]:
    with rx.Runtime() as rt:
        flow = split_flow(f"split-{max_length}-{active}", max_length)
        worker = rt.start(flow, max_active_jobs=active)
        t0 = time.perf_counter()
        submitted = [worker.submit(data={"rows": rows}) for _ in range(jobs)]
        for job in submitted:
            job.wait(120)
        dt = time.perf_counter() - t0
        frame = rt.metrics_frame(per="routine", flow_id=flow.flow_id).set_index("routine_id")
        return {
            "completed": sum(j.status == "completed" for j in submitted),
            "jobs_per_s": jobs / dt,
            "blocked_s": float(frame["total_blocked_time"].sum()),
            "router_run_s": float(frame.loc["router", "total_duration"]),
        }


def main(jobs: int, rows: int, repeat: int) -> None:
    print(f"router into two aggregators: {jobs} jobs of {rows} rows submitted at once (medians)")
    print("  max_length  max_active_jobs  completed     jobs/s  blocked s  router run s")
    for max_length in (None, 50):
        for active in (DEFAULT_MAX_ACTIVE_JOBS, 8):
            runs = [one_run(jobs, rows, max_length, active) for _ in range(repeat)]
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            print(
                f"  {max_length or 'default':>10}  {active:>15}  {med['completed']:>5.0f}/{jobs:<3}"
                f"  {med['jobs_per_s']:>9.0f}  {med['blocked_s']:>9.3f}  {med['router_run_s']:>12.3f}"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=60)
    parser.add_argument("--rows", type=int, default=180)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    main(args.jobs, args.rows, args.repeat)
