"""Scale-out benchmark: routine logic on a thread pool, a process pool and a Dask cluster.

Prints, in one run and on the same machine state:

* a CPU-bound pure-Python routine (~10 ms of CPU time per item) over 200 one-item jobs: items/s on the
  runtime's thread pool, on a ``ProcessPoolExecutor(2)`` and on a Dask ``LocalCluster`` with
  2 worker processes (1 thread each), and the speed-up of each over the thread pool;
* the per-activation overhead of the remote path for a trivial routine: the median
  submit-to-completed latency of one job (one activation) at a time, and the cost per
  activation with many jobs in flight, for each executor, minus the thread pool's.

The CPU count and the load average are printed first, and the machine's idle CPU share during
each measurement after it: a speed-up needs idle cores, so on a shared, saturated machine read
the figures with that in mind (``--repeat`` runs everything again; medians are printed last).
With Linux autogroup scheduling on (printed too), the processes of one session share one CPU
share: on a saturated machine, more processes then gain nothing.

    python benchmarks/bench_scale.py [--items 200] [--ms 10] [--repeat 1] [--no-dask]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager

import routilux_nb as rx


def burn(loops: int) -> int:
    """Pure-Python CPU work (holds the GIL throughout)."""
    acc = 0
    for i in range(loops):
        acc = (acc + i * i) % 1_000_003
    return acc


def calibrate(ms: float) -> int:
    """Loop count that takes ``ms`` milliseconds of CPU time (not wall time: other load on a
    shared machine changes how long it takes, not how much work it is)."""
    probe = 200_000
    times = []
    for _ in range(5):
        t0 = time.thread_time()
        burn(probe)
        times.append(time.thread_time() - t0)
    per_loop = statistics.median(times) / probe
    return max(1, int(ms / 1000 / per_loop))


def cpu_flow(loops: int) -> rx.Flow:
    flow = rx.Flow("cpu")

    @flow.routine(slots=["input"], events=[])
    def crunch(input, ctx):
        ctx.data["acc"] = [burn(loops) for _ in input]

    return flow


def trivial_flow() -> rx.Flow:
    flow = rx.Flow("trivial")

    @flow.routine(slots=["input"], events=[])
    def noop(input, ctx):
        return None

    return flow


@contextmanager
def runtime(kind: str) -> Iterator[rx.Runtime]:
    executor: Executor | None = None
    client = cluster = None
    if kind == "process":
        executor = ProcessPoolExecutor(2)
    elif kind == "dask":
        from distributed import Client, LocalCluster

        cluster = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=50,
        )
        client = Client(cluster)
        executor = client.get_executor()
    rt = rx.Runtime(executor=executor, max_threads=8)
    try:
        yield rt
    finally:
        rt.shutdown()
        if kind == "process":
            assert executor is not None
            executor.shutdown()
        if client is not None:
            client.close()
            cluster.close()


def _cpu_ticks() -> tuple[int, int] | None:
    """(idle, total) jiffies of the whole machine (Linux), to tell a saturated machine."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return fields[3] + fields[4], sum(fields)


def items_per_s(rt: rx.Runtime, flow: rx.Flow, n: int) -> tuple[float, float]:
    """Items/s, and the share of the machine's CPU that was idle meanwhile (others' load)."""
    rt.submit(flow, data={}).wait(120)  # warm: processes started, code shipped
    rt.submit(flow, data={}).wait(120)
    before = _cpu_ticks()
    t0 = time.perf_counter()
    jobs = [rt.submit(flow, data={"i": i}) for i in range(n)]
    for job in jobs:
        job.wait(600)
    dt = time.perf_counter() - t0
    after = _cpu_ticks()
    assert all(j.status == "completed" for j in jobs), [j.error for j in jobs if j.error][:1]
    idle = float("nan")
    if before and after and after[1] > before[1]:
        idle = (after[0] - before[0]) / (after[1] - before[1])
    return n / dt, idle


def latency_ms(rt: rx.Runtime, flow: rx.Flow, n: int) -> float:
    for _ in range(5):
        rt.submit(flow, data={}).wait(60)
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        rt.submit(flow, data={}).wait(60)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1000


def pipelined_ms(rt: rx.Runtime, flow: rx.Flow, n: int) -> float:
    t0 = time.perf_counter()
    jobs = [rt.submit(flow, data={}) for _ in range(n)]
    for job in jobs:
        job.wait(120)
    return (time.perf_counter() - t0) / n * 1000


def run(kinds: list[str], items: int, ms: float, overhead_n: int) -> dict[str, dict[str, float]]:
    loops = calibrate(ms)
    cpu, trivial = cpu_flow(loops), trivial_flow()
    out: dict[str, dict[str, float]] = {}
    for kind in kinds:
        with runtime(kind) as rt:
            rate, idle = items_per_s(rt, cpu, items)
            out[kind] = {
                "items_s": rate,
                "idle": idle,
                "latency_ms": latency_ms(rt, trivial, overhead_n),
                "pipelined_ms": pipelined_ms(rt, trivial, overhead_n * 2),
            }
    return out


def report(fig: dict[str, dict[str, float]], items: int, ms: float) -> None:
    base = fig["thread"]
    print(f"CPU-bound routine (~{ms:g} ms of CPU in pure Python per item), {items} one-item jobs:")
    for kind, f in fig.items():
        print(
            f"  {kind:<8} {f['items_s']:8.1f} items/s   speed-up x{f['items_s'] / base['items_s']:.2f}"
            f"   (machine CPU idle meanwhile: {f['idle']:.0%})"
        )
    print("Trivial routine, per activation (remote overhead = executor minus thread pool):")
    for kind, f in fig.items():
        extra = (
            ""
            if kind == "thread"
            else (
                f"   overhead {f['latency_ms'] - base['latency_ms']:+.2f} ms one at a time, "
                f"{f['pipelined_ms'] - base['pipelined_ms']:+.2f} ms in flight"
            )
        )
        print(
            f"  {kind:<8} latency p50 {f['latency_ms']:6.2f} ms   in flight {f['pipelined_ms']:6.3f} ms/job{extra}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--ms", type=float, default=10.0, help="CPU time per item (ms)")
    parser.add_argument("--overhead-jobs", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--no-dask", action="store_true")
    args = parser.parse_args(argv)
    try:
        with open("/proc/sys/kernel/sched_autogroup_enabled") as f:
            autogroup = "on" if f.read().strip() == "1" else "off"
    except OSError:
        autogroup = "n/a"
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    kinds = ["thread", "process"] + ([] if args.no_dask else ["dask"])
    runs = []
    for r in range(args.repeat):
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        print(
            f"\n# run {r + 1}/{args.repeat}: cpu_count={os.cpu_count()} usable={affinity} loadavg={load} "
            f"autogroup={autogroup}"
        )
        runs.append(run(kinds, args.items, args.ms, args.overhead_jobs))
        report(runs[-1], args.items, args.ms)
    if len(runs) > 1:
        print(f"\n# medians of {len(runs)} runs")
        report(
            {k: {f: statistics.median(r[k][f] for r in runs) for f in runs[0][k]} for k in kinds},
            args.items,
            args.ms,
        )


if __name__ == "__main__":
    main()
