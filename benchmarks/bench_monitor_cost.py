"""Where monitoring's cost goes: CPU per one-item job, hook by hook, on one core.

Runs bench_engine's 3-routine chain (20,000 one-item jobs, submitted one by one) in fresh
processes pinned to one CPU, so the figures are the work done, not the lock and GIL
hand-offs between two cores (``bench_engine.py`` and ``bench_ab.py`` show those). Prints:

* process CPU per job with monitoring off, on, and on without CPU timing, and the garbage
  collector's share of each (the collecting thread's CPU time, from ``gc.callbacks``);
* the monitor's hooks: calls per job and CPU microseconds per call and per job (each hook
  timed by a wrapper with the thread's CPU clock, collector paused; the wrapper's own cost
  is measured and taken off).

    python benchmarks/bench_monitor_cost.py [-n 20000] [--repeat 3] [--cpu 0]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys

BENCH = pathlib.Path(__file__).resolve().parent
HOOKS = ("job_created", "job_status", "activation_start", "emit", "activation_end")
_PROBE = r"""
import gc, json, os, sys, time
sys.path.insert(0, sys.argv[1])
os.sched_setaffinity(0, {int(sys.argv[2])})
import bench_engine as b
import routilux_nb as rx
from routilux_nb.monitor import Monitor
mode, n, hooks = sys.argv[3], int(sys.argv[4]), sys.argv[5].split(",")
spent = {h: 0.0 for h in hooks}
calls = {h: 0 for h in hooks}
clock = time.thread_time  # the calling thread's CPU: other processes on the CPU do not count
if mode == "hooks":
    gc.disable()
    for name in hooks:
        def timed(self, *args, _f=getattr(Monitor, name), _name=name):
            t = clock()
            try:
                return _f(self, *args)
            finally:
                spent[_name] += clock() - t
                calls[_name] += 1
        setattr(Monitor, name, timed)
gc_time = [0.0, 0.0]
def on_gc(phase, info):
    if phase == "start":
        gc_time[1] = time.thread_time()
    else:
        gc_time[0] += time.thread_time() - gc_time[1]
gc.callbacks.append(on_gc)
monitor = {"off": False, "on": True, "hooks": True, "no_cpu": Monitor(cpu_time=False)}[mode]
with rx.Runtime(monitor=monitor, max_finished_jobs=n + 1000) as rt:
    worker = rt.start(b.build_flow("cost"))
    for _ in range(200):
        worker.submit(data={"n": 1}).wait(30)
    gc.collect()
    for h in hooks:
        spent[h], calls[h] = 0.0, 0
    gc_time[0] = 0.0
    c0 = time.process_time()
    jobs = [worker.submit(data={"n": 1}) for _ in range(n)]
    for job in jobs:
        assert job.wait(120).status == "completed"
    cpu = time.process_time() - c0
def empty(self, *args):
    return None
def wrapped(self, *args, _f=empty):
    t = clock()
    try:
        return _f(self, *args)
    finally:
        spent["x"] = clock() - t
t = clock()
for _ in range(100_000):
    wrapped(None, 1)
wrap = (clock() - t) / 100_000  # what the wrapper itself costs per call
print(json.dumps({"cpu": cpu / n * 1e6, "gc": gc_time[0] / n * 1e6,
                  "hooks": {h: [calls[h] / n, max(0.0, spent[h] / max(calls[h], 1) - wrap) * 1e6]
                            for h in hooks}}))
"""


def probe(mode: str, cpu: int, n: int) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(BENCH), str(cpu), mode, str(n), ",".join(HOOKS)],
        env={**os.environ, "PYTHONPATH": str(BENCH.parent)},
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main(n: int, repeat: int, cpu: int) -> None:
    runs: dict[str, list[dict[str, object]]] = {m: [] for m in ("off", "on", "no_cpu", "hooks")}
    for _ in range(repeat):
        for mode in runs:
            runs[mode].append(probe(mode, cpu, n))

    def med(mode: str, key: str) -> float:
        return statistics.median(float(r[key]) for r in runs[mode])  # type: ignore[arg-type]

    print(f"{n:,} one-item jobs through a 3-routine chain, one CPU (medians of {repeat})")
    print("                                  CPU/job (us)   of which GC")
    for mode, label in (("off", "monitor off"), ("on", "monitor on"), ("no_cpu", "on, cpu_time=False")):
        print(f"  {label:30} {med(mode, 'cpu'):10.1f} {med(mode, 'gc'):12.1f}")
    cost = med("on", "cpu") - med("off", "cpu")
    print(f"  monitoring: +{cost:.1f} us/job, {cost / med('on', 'cpu') * 100:.0f} % of jobs/s")
    print("  hooks (collector paused)        calls/job   us/call    us/job")
    total = 0.0
    for hook in HOOKS:
        per_job = statistics.median(r["hooks"][hook][0] for r in runs["hooks"])  # type: ignore[index]
        per_call = statistics.median(r["hooks"][hook][1] for r in runs["hooks"])  # type: ignore[index]
        total += per_job * per_call
        print(f"    {hook:28} {per_job:9.2f} {per_call:9.2f} {per_job * per_call:9.1f}")
    print(f"    {'all hooks':28} {'':9} {'':9} {total:9.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cpu", type=int, default=0, help="the CPU to pin the probes to")
    args = parser.parse_args()
    main(args.n, args.repeat, args.cpu)
