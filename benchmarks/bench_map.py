"""``worker.map`` against one-by-one ``submit``: jobs/s for many small jobs.

The flow is the engine benchmark's 3-routine chain (source -> transform -> sink), one item
per job. Prints medians of ``--repeat`` runs of:

* a loop of ``worker.submit(data=...)`` followed by waiting for every job,
* ``worker.map(params, max_in_flight=None)`` (everything submitted at once),
* ``worker.map(params, max_in_flight=64)`` (bounded, fed as jobs finish),

and the ratio of each ``map`` figure to the loop, measured in the same process.

    python benchmarks/bench_map.py [--jobs 5000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench_engine import build_flow

import routilux_nb as rx


def _loop(worker: rx.Worker, params: list[dict[str, int]]) -> float:
    start = time.perf_counter()
    jobs = [worker.submit(data=p) for p in params]
    for job in jobs:
        job.wait(60)
    return len(params) / (time.perf_counter() - start)


def _map(worker: rx.Worker, params: list[dict[str, int]], max_in_flight: int | None) -> float:
    start = time.perf_counter()
    run = worker.map(params, max_in_flight=max_in_flight).wait(120)
    elapsed = time.perf_counter() - start
    assert run.counts == {"completed": len(params)}, run.counts
    return len(params) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    params = [{"n": 1} for _ in range(args.jobs)]
    results: dict[str, list[float]] = {
        "submit loop": [],
        "map (no limit)": [],
        "map (max_in_flight=64)": [],
    }
    for i in range(args.repeat):
        rt = rx.Runtime(max_finished_jobs=args.jobs * 4)
        worker = rt.start(build_flow(f"map-bench-{i}"))
        _loop(worker, params[:200])  # warm up
        results["submit loop"].append(_loop(worker, params))
        results["map (no limit)"].append(_map(worker, params, None))
        results["map (max_in_flight=64)"].append(_map(worker, params, 64))
        rt.shutdown()
    base = statistics.median(results["submit loop"])
    print(f"{args.jobs:,} one-item jobs, medians of {args.repeat} runs")
    for name, values in results.items():
        median = statistics.median(values)
        print(f"  {name:<24} {median:>10,.0f} jobs/s   x{median / base:.2f} of the submit loop")


if __name__ == "__main__":
    main()
