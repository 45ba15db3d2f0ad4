"""routilux_nb against Routilux 1.1.0 (the original, from PyPI), side by side on this machine.

The same probe runs on both: a 3-routine chain source -> transform -> sink, measured as

* items/s: one job whose source emits ``--items`` items (to the last item at the sink),
* jobs/s: ``--jobs`` one-item jobs submitted one by one (until all completed; for the
  original, until all items reached the sink, since its jobs never complete),
* p50 latency: submit -> completed (the original: submit -> item at the sink),

with monitoring on (the default of routilux_nb) and off, each figure the median of
``--repeat`` fresh processes. The plain Python loop of the same three functions is measured
in the same run, and the ratios are printed.

Routilux 1.1.0 is installed into a throwaway virtual environment (``--venv``, default under
the system's temp directory) with ``uv`` and is not a dependency of this project. Needs
network access the first time.

    python benchmarks/bench_versus_original.py [--repeat 3] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
ORIGINAL = "routilux==1.1.0"

ORIGINAL_PROBE = textwrap.dedent(
    """
    import json, logging, os, statistics, sys, threading, time
    monitoring, what, n = sys.argv[1] == "on", sys.argv[2], int(sys.argv[3])
    logging.disable(logging.WARNING)
    from routilux.core import Flow, Routine, Runtime
    from routilux.core.registry import FlowRegistry
    if monitoring:
        from routilux.monitoring.registry import MonitoringRegistry
        MonitoringRegistry.enable()

    def take_all(slots, worker_state):  # the original runs no routine without a policy
        data = {name: s.consume_all_new() for name, s in slots.items()}
        return any(data.values()), data, None

    lock, done = threading.Lock(), threading.Event()
    state = {"count": 0, "target": 0, "first": None}

    class Source(Routine):
        def __init__(self):
            super().__init__()
            self.add_slot("input", max_queue_length=1_000_000)  # the original drops on full
            self.add_event("output")
            self.set_activation_policy(take_all)

        def logic(self, input, **kw):  # emit needs worker_state passed in downstream
            for item in input:
                for i in range(item.get("n", 1)):
                    self.emit("output", worker_state=kw["worker_state"], value=i)

    class Transform(Source):
        def logic(self, input, **kw):
            for item in input:
                self.emit("output", worker_state=kw["worker_state"], value=item["value"] * 2)

    class Sink(Routine):
        def __init__(self):
            super().__init__()
            self.add_slot("input", max_queue_length=1_000_000)
            self.set_activation_policy(take_all)

        def logic(self, input, **kw):
            with lock:
                state["count"] += len(input)
                if state["first"] is None:
                    state["first"] = time.perf_counter()
                if state["count"] >= state["target"]:
                    done.set()

    flow = Flow("probe")
    for rid, cls in (("source", Source), ("transform", Transform), ("sink", Sink)):
        flow.add_routine(cls(), rid)
    flow.connect("source", "output", "transform", "input")
    flow.connect("transform", "output", "sink", "input")
    FlowRegistry.get_instance().register(flow)
    rt = Runtime(thread_pool_size=8)
    worker_id = rt.exec("probe").worker_id

    def reset(target):
        with lock:
            state.update(count=0, target=target, first=None)
            done.clear()

    def post(k):
        rt.post("probe", "source", "input", {"n": k}, worker_id=worker_id)

    for _ in range(20):
        reset(1); post(1); done.wait(30)
    if what == "items":
        reset(n); t0 = time.perf_counter(); post(n)
        assert done.wait(600), state
        value = n / (time.perf_counter() - t0)
    elif what == "jobs":
        reset(n); t0 = time.perf_counter()
        for _ in range(n):
            post(1)
        assert done.wait(600), state
        value = n / (time.perf_counter() - t0)
    else:
        samples = []
        for _ in range(n):
            reset(1); t0 = time.perf_counter(); post(1)
            assert done.wait(30)
            samples.append(state["first"] - t0)
        value = statistics.median(samples) * 1000
    print(json.dumps({"value": value}))
    sys.stdout.flush()
    os._exit(0)  # the original's worker threads do not let the process end
    """
)

NB_PROBE = textwrap.dedent(
    """
    import json, statistics, sys, time
    monitoring, what, n = sys.argv[1] == "on", sys.argv[2], int(sys.argv[3])
    import routilux_nb as rx

    from bench_engine import build_flow  # the same 3-routine chain as bench_engine

    flow = build_flow("probe")
    with rx.Runtime(monitor=monitoring, max_finished_jobs=n + 1000) as rt:
        worker = rt.start(flow)
        for _ in range(20):
            worker.submit({"n": 1}).wait(30)
        if what == "items":
            t0 = time.perf_counter()
            job = worker.submit({"n": n}).wait(600)
            value = n / (time.perf_counter() - t0)
            assert job.status == "completed" and job.data["count"] == n, job
        elif what in ("jobs", "jobs_many"):
            t0 = time.perf_counter()
            if what == "jobs":
                jobs = [worker.submit({"n": 1}) for _ in range(n)]
            else:
                jobs = worker.submit_many({"n": 1} for _ in range(n))
            for job in jobs:
                job.wait(600)
            value = n / (time.perf_counter() - t0)
            assert all(j.status == "completed" for j in jobs)
        else:
            samples = []
            for _ in range(n):
                t0 = time.perf_counter()
                worker.submit({"n": 1}).wait(30)
                samples.append(time.perf_counter() - t0)
            value = statistics.median(samples) * 1000
    print(json.dumps({"value": value}))
    """
)

LOOP_PROBE = textwrap.dedent(
    """
    import json, sys, time
    n = int(sys.argv[3])

    def source(k):
        for i in range(k):
            yield {"value": i}

    def transform(x):
        return {"value": x["value"] * 2}

    def main():
        count = 0

        def sink(x):
            nonlocal count
            count += 1

        rounds, t0 = 0, time.perf_counter()
        while True:  # repeated until it lasts long enough to time
            for item in source(n):
                sink(transform(item))
            rounds += 1
            elapsed = time.perf_counter() - t0
            if elapsed >= 0.5:
                break
        assert count == rounds * n
        return rounds * n / elapsed

    print(json.dumps({"value": main()}))
    """
)


def original_python(venv: pathlib.Path) -> pathlib.Path:
    """The venv's python with Routilux 1.1.0, made (with uv) when missing."""
    python = venv / "bin" / "python"
    if python.exists():
        check = subprocess.run([str(python), "-c", "import routilux"], capture_output=True)
        if check.returncode == 0:
            return python
    uv = shutil.which("uv") or str(pathlib.Path(sys.executable).with_name("uv"))
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    subprocess.run([uv, "pip", "install", "-q", "--python", str(python), ORIGINAL], check=True)
    return python


def run(
    python: pathlib.Path, code: str, monitoring: bool, what: str, n: int, env: dict[str, str]
) -> float:
    out = subprocess.run(
        [str(python), "-c", code, "on" if monitoring else "off", what, str(n)],
        capture_output=True,
        text=True,
        timeout=1800,
        env=env,
        check=False,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"probe {what} failed ({out.returncode}): {out.stderr[-2000:]}")
    return float(json.loads(lines[-1])["value"])


def median_of(repeat: int, *args: Any) -> float:
    return statistics.median(run(*args) for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes per figure (median)")
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--samples", type=int, default=2_000, help="latency samples per process")
    parser.add_argument("--quick", action="store_true", help="a quarter of every size")
    parser.add_argument(
        "--venv",
        type=pathlib.Path,
        default=pathlib.Path(tempfile.gettempdir()) / "routilux-1.1.0-bench-venv",
    )
    args = parser.parse_args()
    div = 4 if args.quick else 1
    items, jobs, samples = args.items // div, args.jobs // div, args.samples // div
    original = original_python(args.venv)
    nb_env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(ROOT), str(ROOT / "benchmarks"), os.environ.get("PYTHONPATH", "")]
        ),
    }
    orig_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    here = pathlib.Path(sys.executable)
    t0 = time.monotonic()
    fig: dict[str, float] = {}
    fig["loop"] = median_of(args.repeat, here, LOOP_PROBE, False, "items", items, nb_env)
    for mon in (True, False):
        tag = "on" if mon else "off"
        for name, python, code, env in (
            ("orig", original, ORIGINAL_PROBE, orig_env),
            ("nb", here, NB_PROBE, nb_env),
        ):
            fig[f"{name}_items_{tag}"] = median_of(
                args.repeat, python, code, mon, "items", items, env
            )
            fig[f"{name}_jobs_{tag}"] = median_of(args.repeat, python, code, mon, "jobs", jobs, env)
            fig[f"{name}_lat_{tag}"] = median_of(
                args.repeat, python, code, mon, "latency", samples, env
            )
        fig[f"nb_many_{tag}"] = median_of(
            args.repeat, here, NB_PROBE, mon, "jobs_many", jobs, nb_env
        )
    report(fig, items, jobs, args.repeat, time.monotonic() - t0)


def report(f: dict[str, float], items: int, jobs: int, repeat: int, seconds: float) -> None:
    def cost(name: str, on: str, off: str) -> str:
        return f"{100 * (1 - f[on] / f[off]):5.1f} %"

    print(
        f"routilux_nb vs {ORIGINAL}: source -> transform -> sink, median of {repeat} fresh processes "
        f"({seconds:.0f} s)"
    )
    print(f"  plain Python loop of the same functions: {f['loop']:>12,.0f} items/s")
    print("                                    Routilux 1.1.0    routilux_nb     ratio")
    for tag in ("on", "off"):
        print(f"  monitoring {tag}")
        print(
            f"    one job of {items:,} items, items/s {f['orig_items_' + tag]:>10,.0f} {f['nb_items_' + tag]:>14,.0f}"
            f" {f['nb_items_' + tag] / f['orig_items_' + tag]:>8.1f}x"
        )
        print(
            f"    {jobs:,} one-item jobs, jobs/s    {f['orig_jobs_' + tag]:>10,.0f} {f['nb_jobs_' + tag]:>14,.0f}"
            f" {f['nb_jobs_' + tag] / f['orig_jobs_' + tag]:>8.1f}x"
        )
        print(
            f"      the same with submit_many, jobs/s {'':>10} {f['nb_many_' + tag]:>14,.0f}"
            f" {f['nb_many_' + tag] / f['orig_jobs_' + tag]:>8.1f}x"
        )
        print(
            f"    p50 latency, ms                 {f['orig_lat_' + tag]:>10.3f} {f['nb_lat_' + tag]:>14.3f}"
            f" {f['orig_lat_' + tag] / f['nb_lat_' + tag]:>8.1f}x faster"
        )
    print(
        "  (latency: routilux_nb submit -> job completed; the original submit -> item at the sink,"
    )
    print("   its jobs never complete)")
    print(
        f"  plain loop / routilux_nb items/s (monitoring on): 1/{f['loop'] / f['nb_items_on']:.1f}"
        "   (bar: at most 1/20)"
    )
    print(
        f"  monitoring cost, routilux_nb: {cost('', 'nb_items_on', 'nb_items_off')} of items/s, "
        f"{cost('', 'nb_jobs_on', 'nb_jobs_off')} of jobs/s   (bar: at most 15 %)"
    )
    print(
        f"  monitoring cost, Routilux 1.1.0: {cost('', 'orig_items_on', 'orig_items_off')} of items/s, "
        f"{cost('', 'orig_jobs_on', 'orig_jobs_off')} of jobs/s"
    )


if __name__ == "__main__":
    main()
