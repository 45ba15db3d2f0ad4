"""The engine's own CPU work per job and per item, on one thread, checkouts side by side.

bench_engine's chain (source -> transform -> sink, monitoring off) with the runtime's tasks
run on the submitting thread (an executor that queues them and a loop that runs them), so
the figure is the engine's work alone: no thread hand-offs, no lock or GIL contention, none
of what a busy two-core machine adds to ``bench_ab.py``'s CPU per job. Three shapes:

* ``seq``:   submit one one-item job, run it to completion, submit the next;
* ``burst``: submit all one-item jobs (most wait ``pending`` for admission), then run them;
* ``items``: one job whose source emits all the items.

Runs are interleaved across checkouts (rotating the order); each run prints the minimum and
the median of five timed rounds in one process (CPU microseconds per job or item), and the
garbage collector's share of the median (finished jobs are kept, as a runtime keeps them:
the objects each job leaves behind decide how often the collector runs).

    python benchmarks/bench_engine_work.py --path /tmp/base --path . [--repeat 3]
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
_PROBE = r"""
import collections, gc, json, sys, time
from concurrent.futures import ThreadPoolExecutor
sys.path.insert(0, sys.argv[1])
import bench_engine as b
import routilux_nb as rx
import os
assert os.path.dirname(os.path.dirname(rx.__file__)) == os.environ["PYTHONPATH"], rx.__file__

class Inline(ThreadPoolExecutor):
    # an in-process executor (so logic is not offloaded) whose tasks run in run_all()
    def __init__(self):
        super().__init__(1)
        self.tasks = collections.deque()
    def submit(self, fn, *args, **kwargs):
        self.tasks.append((fn, args))
    def run_all(self):
        tasks = self.tasks
        while tasks:
            fn, args = tasks.popleft()
            fn(*args)

shape, n, rounds = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ex = Inline()
out = []
gc_time = [0.0, 0.0]

def collecting(phase, info):
    if phase == "start":
        gc_time[1] = time.process_time()
    else:
        gc_time[0] += time.process_time() - gc_time[1]

with rx.Runtime(monitor=False, executor=ex, max_finished_jobs=n * rounds + 1000) as rt:
    worker = rt.start(b.build_flow("work"))
    for _ in range(200):
        worker.submit(data={"n": 1})
        ex.run_all()
    gc.callbacks.append(collecting)
    for _ in range(rounds):
        gc.collect()
        gc_time[0] = 0.0
        c0 = time.process_time()
        if shape == "seq":
            jobs = []
            for _ in range(n):
                jobs.append(worker.submit(data={"n": 1}))
                ex.run_all()
        elif shape == "burst":
            jobs = [worker.submit(data={"n": 1}) for _ in range(n)]
            ex.run_all()
        else:
            jobs = [worker.submit(data={"n": n})]
            ex.run_all()
        out.append(((time.process_time() - c0) / n * 1e6, gc_time[0] / n * 1e6))
        assert all(j.status == "completed" for j in jobs), jobs[0]
    gc.callbacks.remove(collecting)
out.sort()
print(json.dumps([out[0][0], out[len(out) // 2][0], out[len(out) // 2][1]]))
"""
SHAPES = {"seq": 10_000, "burst": 10_000, "items": 20_000}


def probe(path: str, shape: str, n: int, rounds: int) -> list[float]:
    root = pathlib.Path(path).resolve()
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(BENCH), shape, str(n), str(rounds)],
        env=env,
        cwd=root,  # ``python -c`` puts the working directory first on sys.path
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main(paths: list[str], repeat: int, shapes: list[str], rounds: int) -> None:
    print(
        f"engine work on one thread, monitor off: CPU us per job (per item for 'items'), "
        f"min / median of {rounds} rounds, medians over {repeat} interleaved runs"
    )
    for shape in shapes:
        results: dict[str, list[list[float]]] = {p: [] for p in paths}
        for i in range(repeat):
            order = paths[i % len(paths) :] + paths[: i % len(paths)]
            for path in order:
                results[path].append(probe(path, shape, SHAPES[shape], rounds))
        base = statistics.median(r[0] for r in results[paths[0]])
        for path, runs in results.items():
            low = statistics.median(r[0] for r in runs)
            mid = statistics.median(r[1] for r in runs)
            collecting = statistics.median(r[2] for r in runs)
            print(
                f"  {shape:5} {path:30} min {low:7.2f}  median {mid:7.2f} (GC {collecting:5.2f})"
                f"   ({100 * (low / base - 1):+.1f} % vs first)"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", action="append", required=True, help="a checkout (repeat)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--shape", action="append", choices=sorted(SHAPES), default=None)
    args = parser.parse_args()
    main(args.path, args.repeat, args.shape or ["seq", "burst", "items"], args.rounds)
