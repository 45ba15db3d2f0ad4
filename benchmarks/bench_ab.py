"""Two checkouts side by side: bench_engine's one-item jobs/s and one-job items/s, with CPU
time per job/item, runs interleaved (rotating the order) so that both see the same machine.

CPU time per unit (``time.process_time`` of the whole process, all threads) is the figure to
trust on a shared, noisy machine; wall rates are printed beside it, and the voluntary context
switches per unit (threads that slept on a lock or the GIL: on two free cores, lock hand-offs
between threads cost more CPU than the work itself).

    python benchmarks/bench_ab.py --path /tmp/base --path . [--repeat 6] [--monitor]
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
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
import bench_engine as b
import routilux_nb as rx
import os
assert os.path.dirname(os.path.dirname(rx.__file__)) == os.environ["PYTHONPATH"], rx.__file__
kind, monitor, n = sys.argv[2], sys.argv[3] == "1", int(sys.argv[4])
with rx.Runtime(monitor=monitor, max_finished_jobs=n + 1000) as rt:
    worker = rt.start(b.build_flow(kind))
    for _ in range(200):
        worker.submit(data={"n": 1}).wait(30)
    s0 = resource.getrusage(resource.RUSAGE_SELF).ru_nvcsw
    t0, c0 = time.perf_counter(), time.process_time()
    if kind == "jobs":
        jobs = [worker.submit(data={"n": 1}) for _ in range(n)]
    else:
        jobs = [worker.submit(data={"n": n})]
    for job in jobs:
        assert job.wait(120).status == "completed"
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    switches = resource.getrusage(resource.RUSAGE_SELF).ru_nvcsw - s0
print(json.dumps([n / wall, cpu / n * 1e6, switches / n]))
"""


def probe(path: str, kind: str, monitor: bool, n: int) -> list[float]:
    root = pathlib.Path(path).resolve()
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(BENCH), kind, "1" if monitor else "0", str(n)],
        env=env,
        cwd=root,  # ``python -c`` puts the working directory first on sys.path
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main(paths: list[str], repeat: int, monitor: bool, n: int) -> None:
    print(f"interleaved A/B, {n:,} per run, monitor {'on' if monitor else 'off'} (medians)")
    for kind, unit in (("jobs", "job"), ("items", "item")):
        results: dict[str, list[list[float]]] = {p: [] for p in paths}
        for i in range(repeat):
            order = paths[i % len(paths) :] + paths[: i % len(paths)]
            for path in order:
                results[path].append(probe(path, kind, monitor, n))
        for path, runs in results.items():
            rate = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            worst = max(r[1] for r in runs)
            switches = statistics.median(r[2] for r in runs)
            print(
                f"  {kind:5} {path:30} {rate:>10,.0f} {unit}s/s  {cpu:6.2f} us CPU/{unit}"
                f" (worst {worst:6.2f})  {switches:5.2f} switches/{unit}"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", action="append", required=True, help="a checkout (repeat)")
    parser.add_argument("--repeat", type=int, default=6)
    parser.add_argument("--monitor", action="store_true")
    parser.add_argument("-n", type=int, default=20_000)
    args = parser.parse_args()
    main(args.path, args.repeat, args.monitor, args.n)
