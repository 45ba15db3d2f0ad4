"""Engine benchmark: a 3-routine chain source -> transform -> sink.

Prints, in one run and on the same machine state:

* items/s for one job whose source emits 20,000 items,
* completed jobs/s for 20,000 one-item jobs, submitted one by one and with ``submit_many``,
* p50/p99 latency from submit to ``completed`` for one small job on a warm worker,

each with monitoring on and off (each timed run starts after a full garbage collection, so
that one run does not pay for collecting the previous run's objects), next to the same chain as a plain Python loop and as a
``queue.Queue`` three-thread chain, with the ratios; and the RSS of the process after
1,000,000 events through one monitored job. Medians of ``--repeat`` runs.

    python benchmarks/bench_engine.py [--repeat 3] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import queue
import resource
import statistics
import threading
import time
from typing import Any

import routilux_nb as rx
from routilux_nb.monitor import Monitor

ITEMS = 20_000
JOBS = 20_000
LATENCY_SAMPLES = 2_000


def build_flow(name: str) -> rx.Flow:
    flow = rx.Flow(name)

    @flow.routine(slots=["input"], events=["output"])
    def source(input, ctx):
        for item in input:
            n = item.get("n", 1)
            for i in range(n):
                ctx.emit("output", value=i)

    @flow.routine(slots=["input"], events=["output"])
    def transform(input, ctx):
        for item in input:
            ctx.emit("output", value=item["value"] * 2)

    @flow.routine(slots=["input"], events=[])
    def sink(input, ctx):
        ctx.data["count"] = ctx.data.get("count", 0) + len(input)

    flow.connect("source.output", "transform.input")
    flow.connect("transform.output", "sink.input")
    return flow


# -- baselines -------------------------------------------------------------------------------
def plain_loop(n: int) -> float:
    def transform(x: dict[str, Any]) -> dict[str, Any]:
        return {"value": x["value"] * 2}

    count = 0

    def sink(x: dict[str, Any]) -> None:
        nonlocal count
        count += 1

    t0 = time.perf_counter()
    for i in range(n):
        sink(transform({"value": i}))
    dt = time.perf_counter() - t0
    assert count == n
    return n / dt


def queue_chain(n: int) -> float:
    q1: queue.Queue[Any] = queue.Queue(maxsize=1000)
    q2: queue.Queue[Any] = queue.Queue(maxsize=1000)
    done = threading.Event()
    count = 0

    def transform() -> None:
        while (x := q1.get()) is not None:
            q2.put({"value": x["value"] * 2})
        q2.put(None)

    def sink() -> None:
        nonlocal count
        while q2.get() is not None:
            count += 1
        done.set()

    threads = [threading.Thread(target=transform), threading.Thread(target=sink)]
    for t in threads:
        t.start()
    t0 = time.perf_counter()
    for i in range(n):
        q1.put({"value": i})
    q1.put(None)
    done.wait()
    dt = time.perf_counter() - t0
    for t in threads:
        t.join()
    assert count == n
    return n / dt


# -- routilux_nb -----------------------------------------------------------------------------
def one_job_items_per_s(monitor: bool, n: int, cpu: list[float] | None = None) -> float:
    """Items per second through one job; ``cpu`` gets the process's CPU microseconds per item."""
    with rx.Runtime(monitor=monitor) as rt:
        worker = rt.start(build_flow("items"))
        worker.submit(data={"n": 100}).wait(30)
        gc.collect()
        c0, t0 = time.process_time(), time.perf_counter()
        job = worker.submit(data={"n": n}).wait(120)
        dt = time.perf_counter() - t0
        if cpu is not None:
            cpu.append((time.process_time() - c0) / n * 1e6)
        assert job.status == "completed" and job.data["count"] == n, job
    return n / dt


def jobs_per_s(monitor: Any, n: int, many: bool = False, cpu: list[float] | None = None) -> float:
    """One-item jobs completed per second, submitted one by one (or with ``submit_many``);
    ``cpu`` gets the process's CPU microseconds per job."""
    with rx.Runtime(monitor=monitor, max_finished_jobs=n + 1000) as rt:
        worker = rt.start(build_flow("jobs"))
        for _ in range(200):
            worker.submit(data={"n": 1}).wait(30)
        gc.collect()
        c0, t0 = time.process_time(), time.perf_counter()
        if many:
            jobs = worker.submit_many({"n": 1} for _ in range(n))
        else:
            jobs = [worker.submit(data={"n": 1}) for _ in range(n)]
        for job in jobs:
            job.wait(120)
        dt = time.perf_counter() - t0
        if cpu is not None:
            cpu.append((time.process_time() - c0) / n * 1e6)
        assert all(j.status == "completed" for j in jobs)
    return n / dt


def latency_ms(monitor: bool, n: int) -> tuple[float, float]:
    with rx.Runtime(monitor=monitor) as rt:
        worker = rt.start(build_flow("latency"))
        for _ in range(200):
            worker.submit(data={"n": 1}).wait(30)
        gc.collect()
        samples = []
        for _ in range(n):
            t0 = time.perf_counter()
            worker.submit(data={"n": 1}).wait(30)
            samples.append(time.perf_counter() - t0)
    samples.sort()
    return samples[len(samples) // 2] * 1000, samples[int(len(samples) * 0.99)] * 1000


def rss_after_events(events: int) -> tuple[float, float, int]:
    """(RSS MiB before, RSS MiB after, events recorded) for one monitored job."""
    gc.collect()
    before = _rss_mib()
    with rx.Runtime() as rt:
        worker = rt.start(build_flow("memory"))
        # each item makes two emits plus activation records: about 2.1 events per item
        job = worker.submit(data={"n": events // 2}).wait(300)
        recorded = job.trace.total
        assert job.status == "completed"
        after = _rss_mib()
    return before, after, recorded


def _rss_mib() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def median(fn: Any, repeat: int, *args: Any) -> Any:
    results = [fn(*args) for _ in range(repeat)]
    if isinstance(results[0], tuple):
        return tuple(statistics.median(r[i] for r in results) for i in range(len(results[0])))
    return statistics.median(results)


def main(repeat: int = 3, quick: bool = False) -> dict[str, Any]:
    items = ITEMS // 4 if quick else ITEMS
    jobs = JOBS // 4 if quick else JOBS
    lat_n = LATENCY_SAMPLES // 4 if quick else LATENCY_SAMPLES
    fig: dict[str, Any] = {}
    fig["plain_loop_items_s"] = median(plain_loop, repeat, items)
    fig["queue_chain_items_s"] = median(queue_chain, repeat, items)
    for label, mon in (("off", False), ("on", True)):
        item_cpu: list[float] = []
        job_cpu: list[float] = []
        fig[f"items_s_monitor_{label}"] = median(one_job_items_per_s, repeat, mon, items, item_cpu)
        fig[f"jobs_s_monitor_{label}"] = median(jobs_per_s, repeat, mon, jobs, False, job_cpu)
        fig[f"item_cpu_us_monitor_{label}"] = statistics.median(item_cpu)
        fig[f"job_cpu_us_monitor_{label}"] = statistics.median(job_cpu)
        fig[f"jobs_many_s_monitor_{label}"] = median(jobs_per_s, repeat, mon, jobs, True)
        p50, p99 = median(latency_ms, repeat, mon, lat_n)
        fig[f"latency_p50_ms_monitor_{label}"] = p50
        fig[f"latency_p99_ms_monitor_{label}"] = p99
    fig["loop_over_engine_ratio"] = fig["plain_loop_items_s"] / fig["items_s_monitor_on"]
    fig["queue_over_engine_ratio"] = fig["queue_chain_items_s"] / fig["items_s_monitor_on"]
    fig["monitor_items_cost_pct"] = 100 * (
        1 - fig["items_s_monitor_on"] / fig["items_s_monitor_off"]
    )
    fig["monitor_jobs_cost_pct"] = 100 * (1 - fig["jobs_s_monitor_on"] / fig["jobs_s_monitor_off"])
    # the same costs from CPU time, which other processes on a shared machine disturb less
    for unit in ("item", "job"):
        on, off = fig[f"{unit}_cpu_us_monitor_on"], fig[f"{unit}_cpu_us_monitor_off"]
        fig[f"monitor_{unit}_cpu_cost_pct"] = 100 * (1 - off / on)
    # the monitor's per-activation CPU clock (two reads of the thread's clock, system calls)
    no_cpu = median(jobs_per_s, repeat, Monitor(cpu_time=False), jobs)
    fig["jobs_s_monitor_no_cpu_time"] = no_cpu
    fig["monitor_no_cpu_time_jobs_cost_pct"] = 100 * (1 - no_cpu / fig["jobs_s_monitor_off"])
    fig["monitor_jobs_many_cost_pct"] = 100 * (
        1 - fig["jobs_many_s_monitor_on"] / fig["jobs_many_s_monitor_off"]
    )
    before, after, recorded = rss_after_events(200_000 if quick else 1_000_000)
    fig.update(rss_before_mib=before, rss_after_mib=after, events_recorded=recorded)
    return fig


def report(fig: dict[str, Any]) -> None:
    print("routilux_nb engine benchmark: 3-routine chain source -> transform -> sink (medians)")
    print(f"  plain Python loop            {fig['plain_loop_items_s']:>12,.0f} items/s")
    print(f"  queue.Queue 3-thread chain   {fig['queue_chain_items_s']:>12,.0f} items/s")
    print("                                  monitor off      monitor on")
    print(
        f"  one job, items/s             {fig['items_s_monitor_off']:>12,.0f}  {fig['items_s_monitor_on']:>12,.0f}"
    )
    print(
        f"  one-item jobs, completed/s   {fig['jobs_s_monitor_off']:>12,.0f}  {fig['jobs_s_monitor_on']:>12,.0f}"
    )
    print(
        f"  same, with submit_many       {fig['jobs_many_s_monitor_off']:>12,.0f}  {fig['jobs_many_s_monitor_on']:>12,.0f}"
    )
    print(
        f"  latency p50 (ms)             {fig['latency_p50_ms_monitor_off']:>12.3f}  {fig['latency_p50_ms_monitor_on']:>12.3f}"
    )
    print(
        f"  latency p99 (ms)             {fig['latency_p99_ms_monitor_off']:>12.3f}  {fig['latency_p99_ms_monitor_on']:>12.3f}"
    )
    print(
        f"  plain loop / engine (monitored)   1/{fig['loop_over_engine_ratio']:.1f}   (target: at most 1/20)"
    )
    print(f"  queue chain / engine (monitored)  {fig['queue_over_engine_ratio']:.2f}x")
    print(
        f"  latency p50 with monitoring: {fig['latency_p50_ms_monitor_on']:.3f} ms"
        "   (target: at most 0.10 ms)"
    )
    print(
        f"  monitoring cost: {fig['monitor_items_cost_pct']:.1f} % of items/s, "
        f"{fig['monitor_jobs_cost_pct']:.1f} % of jobs/s, "
        f"{fig['monitor_jobs_many_cost_pct']:.1f} % of submit_many jobs/s   (target: at most 15 %)"
    )
    print(
        f"  process CPU per item (us)    {fig['item_cpu_us_monitor_off']:>12.2f}  {fig['item_cpu_us_monitor_on']:>12.2f}"
    )
    print(
        f"  process CPU per job (us)     {fig['job_cpu_us_monitor_off']:>12.1f}  {fig['job_cpu_us_monitor_on']:>12.1f}"
    )
    print(
        f"  monitoring cost from CPU time: {fig['monitor_item_cpu_cost_pct']:.1f} % of items/s, "
        f"{fig['monitor_job_cpu_cost_pct']:.1f} % of jobs/s"
    )
    print(
        f"  monitored without CPU time (Monitor(cpu_time=False)): "
        f"{fig['jobs_s_monitor_no_cpu_time']:,.0f} jobs/s, "
        f"{fig['monitor_no_cpu_time_jobs_cost_pct']:.1f} % of jobs/s"
    )
    print(
        f"  RSS after {fig['events_recorded']:,} events in one monitored job: "
        f"{fig['rss_after_mib']:.0f} MiB (before: {fig['rss_before_mib']:.0f} MiB)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (for CI smoke runs)")
    args = parser.parse_args()
    report(main(args.repeat, args.quick))
