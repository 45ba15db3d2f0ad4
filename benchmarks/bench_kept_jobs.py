"""What kept finished jobs cost the garbage collector, monitor on and off.

Runs one-item jobs through bench_engine's 3-routine chain, keeps them all, and prints the
GC-tracked objects per kept job (``gc.get_objects()`` delta) and the CPU time of one full
``gc.collect()`` over them (median of 5)::

    python benchmarks/bench_kept_jobs.py [-n 10000]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time

from bench_engine import build_flow

import routilux_nb as rx


def kept_jobs_cost(monitor: bool, n: int) -> tuple[float, float]:
    with rx.Runtime(monitor=monitor, max_finished_jobs=n + 1000) as rt:
        worker = rt.start(build_flow(f"kept-{monitor}"))
        for _ in range(50):
            worker.submit(data={"n": 1}).wait(30)
        gc.collect()
        before = len(gc.get_objects())
        jobs = [worker.submit(data={"n": 1}).wait(30) for _ in range(n)]
        gc.collect()
        per_job = (len(gc.get_objects()) - before) / n
        times = []
        for _ in range(5):
            t0 = time.process_time()
            gc.collect()
            times.append(time.process_time() - t0)
        del jobs
        return per_job, statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000, help="jobs kept (default 10,000)")
    n = parser.parse_args().n
    print(f"{n:,} kept one-item jobs        tracked objects/job   full gc.collect() (ms)")
    for monitor in (False, True):
        per_job, ms = kept_jobs_cost(monitor, n)
        label = "monitor on " if monitor else "monitor off"
        print(f"  {label}                     {per_job:>8.1f}          {ms:>10.1f}")


if __name__ == "__main__":
    main()
