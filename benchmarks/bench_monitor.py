"""Monitoring-cost probe: what monitoring on (the default) costs against monitoring off.

Runs the engine benchmark's chain (source -> transform -> sink) alternately with monitoring
off and on in the same process, so both sides see the same machine state, and prints the
medians and the cost in % of items/s (one job of ``--items`` items) and of jobs/s
(``--jobs`` one-item jobs). With ``--profile`` it prints the top entries of a cProfile of
5,000 one-item jobs and of one 20,000-item job, monitoring on.

    python benchmarks/bench_monitor.py [--repeat 5] [--items 20000] [--jobs 5000] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_engine import (
    build_flow,
    jobs_per_s,
    one_job_items_per_s,
)

import routilux_nb as rx


def cost(repeat: int, items: int, jobs: int) -> dict[str, float]:
    runs: dict[str, list[float]] = {"items_off": [], "items_on": [], "jobs_off": [], "jobs_on": []}
    for _ in range(repeat):
        for label, mon in (("off", False), ("on", True)):
            runs[f"items_{label}"].append(one_job_items_per_s(mon, items))
            runs[f"jobs_{label}"].append(jobs_per_s(mon, jobs))
    fig = {k: statistics.median(v) for k, v in runs.items()}
    # the cost in each round, then its median: both sides of a round share the machine state
    fig["items_cost_pct"] = statistics.median(
        100 * (1 - on / off) for on, off in zip(runs["items_on"], runs["items_off"], strict=True)
    )
    fig["jobs_cost_pct"] = statistics.median(
        100 * (1 - on / off) for on, off in zip(runs["jobs_on"], runs["jobs_off"], strict=True)
    )
    return fig


def profile(top: int = 22) -> None:
    """cProfile of every thread (submitting thread and pool threads), merged."""
    for title, n_jobs, n_items in (
        ("5,000 one-item jobs", 5000, 1),
        ("one 20,000-item job", 1, 20_000),
    ):
        profiles: list[cProfile.Profile] = []

        def start_thread_profile(*_: object, profiles: list[cProfile.Profile] = profiles) -> None:
            prof = cProfile.Profile()
            profiles.append(prof)
            prof.enable()  # replaces this hook for the new thread

        threading.setprofile(start_thread_profile)
        try:
            with rx.Runtime(max_finished_jobs=n_jobs + 1000) as rt:
                worker = rt.start(build_flow("profile"))
                worker.submit(data={"n": 10}).wait(30)
                main_prof = cProfile.Profile()
                main_prof.enable()
                submitted = [worker.submit(data={"n": n_items}) for _ in range(n_jobs)]
                for job in submitted:
                    job.wait(120)
                main_prof.disable()
        finally:
            threading.setprofile(None)  # type: ignore[arg-type]
        for prof in profiles:
            prof.disable()
        out = io.StringIO()
        stats = pstats.Stats(main_prof, stream=out)
        for prof in profiles:
            stats.add(prof)
        stats.sort_stats("tottime").print_stats(top)
        print(f"--- profile, monitoring on: {title}, all threads, sorted by own time")
        print("\n".join(line for line in out.getvalue().splitlines()[6:] if line.strip()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--jobs", type=int, default=5_000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if args.profile:
        profile()
        return
    fig = cost(args.repeat, args.items, args.jobs)
    print(f"monitoring cost, medians of {args.repeat} alternating rounds")
    print("                              monitor off    monitor on")
    print(f"  one job, items/s          {fig['items_off']:>12,.0f}  {fig['items_on']:>12,.0f}")
    print(f"  one-item jobs, done/s     {fig['jobs_off']:>12,.0f}  {fig['jobs_on']:>12,.0f}")
    print(
        f"  cost: {fig['items_cost_pct']:.1f} % of items/s, {fig['jobs_cost_pct']:.1f} % of jobs/s "
        "(target: at most 15 %)"
    )


if __name__ == "__main__":
    main()
