"""Monitoring-cost probe: what monitoring on (the default) costs against monitoring off.

Runs the engine benchmark's chain (source -> transform -> sink) alternately with monitoring
off and on in the same process, so both sides see the same machine state, and prints the
medians and the cost in % of items/s (one job of ``--items`` items) and of jobs/s
(``--jobs`` one-item jobs). With ``--profile`` it prints the top entries of a cProfile of
5,000 one-item jobs and of one 20,000-item job, monitoring on; with ``--hooks`` the CPU cost
of each hook, driven directly on one thread.

With ``--pinned`` it runs 20,000 one-item jobs in fresh processes pinned to one CPU (the
work done, without the lock and GIL hand-offs between two cores) and prints process CPU per
job with monitoring off, on, on without CPU timing, and with a *floor* monitor that keeps the
least a per-job trace needs (one tuple appended per job start and end, per activation and per
emit), each with the garbage collector's share.

    python benchmarks/bench_monitor.py [--repeat 5] [--items 20000] [--jobs 5000]
    python benchmarks/bench_monitor.py --profile | --hooks | --pinned [--cpu 0]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_engine import build_flow

import routilux_nb as rx


def items_run(monitor: bool, n: int, threads: int = 8) -> tuple[float, float]:
    """(items/s of wall time, items per CPU second of the process) for one job of ``n`` items."""
    with rx.Runtime(monitor=monitor, max_threads=threads) as rt:
        worker = rt.start(build_flow("items"))
        worker.submit(data={"n": 100}).wait(30)
        c0, t0 = time.process_time(), time.perf_counter()
        job = worker.submit(data={"n": n}).wait(120)
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        assert job.status == "completed" and job.data["count"] == n, job
    return n / dt, n / cpu


def jobs_run(monitor: bool, n: int, threads: int = 8) -> tuple[float, float]:
    """(jobs/s of wall time, jobs per CPU second of the process) for ``n`` one-item jobs."""
    with rx.Runtime(monitor=monitor, max_finished_jobs=n + 1000, max_threads=threads) as rt:
        worker = rt.start(build_flow("jobs"))
        for _ in range(200):
            worker.submit(data={"n": 1}).wait(30)
        c0, t0 = time.process_time(), time.perf_counter()
        jobs = [worker.submit(data={"n": 1}) for _ in range(n)]
        for job in jobs:
            job.wait(120)
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        assert all(j.status == "completed" for j in jobs)
    return n / dt, n / cpu


def cost(repeat: int, items: int, jobs: int, threads: int = 8) -> dict[str, float]:
    runs: dict[str, list[float]] = {}
    for _ in range(repeat):
        for label, mon in (("off", False), ("on", True)):
            for kind, fn, n in (("items", items_run, items), ("jobs", jobs_run, jobs)):
                wall, cpu = fn(mon, n, threads)
                runs.setdefault(f"{kind}_{label}", []).append(wall)
                runs.setdefault(f"{kind}_cpu_{label}", []).append(cpu)
    fig = {k: statistics.median(v) for k, v in runs.items()}
    # the cost in each round, then its median: both sides of a round share the machine state
    for kind in ("items", "jobs", "items_cpu", "jobs_cpu"):
        fig[f"{kind}_cost_pct"] = statistics.median(
            100 * (1 - on / off)
            for on, off in zip(runs[f"{kind}_on"], runs[f"{kind}_off"], strict=True)
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


def hook_costs(n: int = 20_000) -> dict[str, float]:
    """CPU microseconds per call of each monitor hook, driven directly on one thread (no pool,
    no GIL contention: the steadiest figure on a busy machine), and per one-item job."""
    import gc

    from routilux_nb.core.context import ActivationContext
    from routilux_nb.core.job import JobContext

    gc.disable()
    try:
        rt = rx.Runtime()
        worker = rt.start(build_flow("hooks"))
        mon = rt.monitor
        source, transform, sink = (worker.flow.routines[r] for r in ("source", "transform", "sink"))
        jobs = [
            JobContext(
                f"j{i}",
                worker,
                metadata={},
                data={},
                timeout=None,
                log_size=10,
                entry=("source", "input"),
            )
            for i in range(n)
        ]
        out: dict[str, float] = {}

        def timed(label: str, call: Any) -> None:
            t0 = time.process_time()
            for i in range(n):
                call(i)
            out[label] = (time.process_time() - t0) / n * 1e6

        timed("job_created", lambda i: mon.job_created(jobs[i]))
        for job in jobs:
            job.status = "running"
        timed("job_status (running)", lambda i: mon.job_status(jobs[i], "pending"))
        for routine, label in ((sink, "no emit"), (transform, "one emit")):
            acts = [
                ActivationContext(worker, routine, jobs[i], {"input": [{"value": 1}]}, None, i)
                for i in range(n)
            ]
            timed(f"activation_start ({label})", lambda i, acts=acts: mon.activation_start(acts[i]))
            if label == "one emit":
                timed("emit", lambda i, acts=acts: mon.emit(acts[i], "output", {"value": 2}))
            timed(
                f"activation_end ({label})",
                lambda i, acts=acts: mon.activation_end(acts[i], 1e-5, None),
            )
        for job in jobs:
            job.status = "completed"
        timed("job_status (completed)", lambda i: mon.job_status(jobs[i], "running"))
        rt.shutdown()
    finally:
        gc.enable()
    out["one-item job (3 activations, 2 emits)"] = (
        out["job_created"]
        + out["job_status (running)"]
        + out["job_status (completed)"]
        + out["activation_start (no emit)"]
        + out["activation_end (no emit)"]
        + 2 * (out["activation_start (one emit)"] + out["emit"] + out["activation_end (one emit)"])
    )
    return out


_PINNED_PROBE = r"""
import gc, json, os, sys, time
sys.path.insert(0, sys.argv[1])
os.sched_setaffinity(0, {int(sys.argv[2])})
import bench_engine as b
import routilux_nb as rx
from routilux_nb.core.clock import now
from routilux_nb.monitor import Monitor

class Floor(Monitor):
    # the least a per-job trace needs: one tuple appended per job event, activation and emit
    def job_created(self, job):
        job.monitor = [(now(), "job_start", job.job_id)]
    def job_status(self, job, old):
        job.monitor.append((now(), job.status))
    def activation_start(self, act):
        pass
    def activation_end(self, act, duration, error):
        act.job.monitor.append((now(), act.routine.routine_id, duration, error))
    def emit(self, act, event, payload):
        act.job.monitor.append((now(), event, payload))

mode, n = sys.argv[3], int(sys.argv[4])
spent = [0.0, 0.0]
def on_gc(phase, info):
    if phase == "start":
        spent[1] = time.thread_time()
    else:
        spent[0] += time.thread_time() - spent[1]
gc.callbacks.append(on_gc)
monitor = {"off": False, "on": True, "no_cpu": Monitor(cpu_time=False), "floor": Floor()}[mode]
with rx.Runtime(monitor=monitor, max_finished_jobs=n + 1000) as rt:
    worker = rt.start(b.build_flow("pinned"))
    for _ in range(200):
        worker.submit(data={"n": 1}).wait(30)
    gc.collect()
    spent[0] = 0.0
    c0 = time.process_time()
    jobs = [worker.submit(data={"n": 1}) for _ in range(n)]
    for job in jobs:
        assert job.wait(120).status == "completed"
    cpu = time.process_time() - c0
print(json.dumps([cpu / n * 1e6, spent[0] / n * 1e6]))
"""
PINNED_MODES = {
    "off": "monitor off",
    "floor": "floor: one tuple per event",
    "no_cpu": "on, Monitor(cpu_time=False)",
    "on": "monitor on",
}


def pinned(repeat: int, n: int, cpu: int) -> dict[str, tuple[float, float]]:
    """Median (CPU us per job, of which GC) per mode, fresh processes pinned to ``cpu``."""
    bench = Path(__file__).resolve().parent
    runs: dict[str, list[list[float]]] = {mode: [] for mode in PINNED_MODES}
    for _ in range(repeat):
        for mode in PINNED_MODES:
            out = subprocess.run(
                [sys.executable, "-c", _PINNED_PROBE, str(bench), str(cpu), mode, str(n)],
                env={**os.environ, "PYTHONPATH": str(bench.parent)},
                capture_output=True,
                text=True,
                check=True,
            )
            runs[mode].append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {
        mode: (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs))
        for mode, rs in runs.items()
    }


def report_pinned(fig: dict[str, tuple[float, float]], n: int, repeat: int) -> None:
    print(f"{n:,} one-item jobs through the 3-routine chain, one CPU (medians of {repeat})")
    print("                                   CPU/job (us)  of which GC   cost in jobs/s")
    off = fig["off"][0]
    for mode, title in PINNED_MODES.items():
        cpu, gc_us = fig[mode]
        pct = "" if mode == "off" else f"{100 * (1 - off / cpu):11.0f} %"
        print(f"  {title:32} {cpu:10.1f} {gc_us:12.1f} {pct}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--jobs", type=int, default=5_000)
    parser.add_argument(
        "--threads", type=int, default=8, help="Runtime(max_threads=...); 1 is the steadiest"
    )
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--hooks", action="store_true", help="CPU cost of each hook, single thread")
    parser.add_argument("--pinned", action="store_true", help="CPU per job on one CPU, by mode")
    parser.add_argument("--cpu", type=int, default=0, help="the CPU --pinned runs on")
    args = parser.parse_args()
    if args.pinned:
        report_pinned(pinned(args.repeat, 20_000, args.cpu), 20_000, args.repeat)
        return
    if args.profile:
        profile()
        return
    if args.hooks:
        costs = [hook_costs() for _ in range(args.repeat)]
        print(f"monitor hook CPU cost, median of {args.repeat} runs (us per call)")
        for key in costs[0]:
            print(f"  {key:<40} {statistics.median(c[key] for c in costs):8.2f}")
        return
    fig = cost(args.repeat, args.items, args.jobs, args.threads)
    print(
        f"monitoring cost, medians of {args.repeat} alternating rounds, max_threads={args.threads}"
    )
    print("                                 monitor off    monitor on")
    rows = (
        ("one job, items/s", "items"),
        ("one-item jobs, done/s", "jobs"),
        ("one job, items/CPU-s", "items_cpu"),
        ("one-item jobs, done/CPU-s", "jobs_cpu"),
    )
    for title, key in rows:
        print(
            f"  {title:<28} {fig[key + '_off']:>12,.0f}  {fig[key + '_on']:>12,.0f}   cost {fig[key + '_cost_pct']:5.1f} %"
        )
    print("  (target: monitoring costs at most 15 % of items/s and of jobs/s)")


if __name__ == "__main__":
    main()
