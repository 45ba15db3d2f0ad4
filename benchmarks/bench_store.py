"""Job store benchmark: the write-through store's cost, its crash-loss bound, and listing speed.

Prints, measured in this run:

* the 3-routine chain's throughput with a SQLite write-through store and without one: items/s
  for one job of 20,000 items and jobs/s for one-item jobs (medians of ``--repeat``), and the
  ratio; and the CPU the store's writer spends per job beside the engine's own (a steadier
  figure than throughput on a busy machine);
* the worst crash gap: a child process completes jobs non-stop with a store and is killed
  with SIGKILL at a random moment, ``--trials`` times; per trial, the age at the kill of the
  oldest completion it reported that the store lacks (0 when nothing was lost);
* ``GET /jobs``-style listing (100 per page) with 1,000 and with 1,000,000 stored jobs, for
  the default order, a status filter, ``created_after``, and ``sort_by=completed_at``.

    python benchmarks/bench_store.py [--repeat 3] [--trials 20] [--rows 1000000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench_engine import build_flow

import routilux_nb as rx
from routilux_nb.store import SQLiteJobStore, StoredJob

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "store"))
from test_write_through import kill_gaps


def throughput(store: Path | None, items: int, jobs: int) -> dict[str, float]:
    """items/s of one long job, jobs/s of one-item jobs, the process's CPU per one-item job,
    and (with a store) the writer's CPU per one-item job."""
    rt = rx.Runtime(store=store, max_finished_jobs=jobs * 2)
    try:
        worker = rt.start(build_flow("store-bench"))
        start = time.perf_counter()
        worker.submit(data={"n": items}).wait(120)
        items_per_s = items / (time.perf_counter() - start)
        writer = rt.store_writer
        if writer is not None:
            writer.flush()
        cpu0 = time.process_time()
        writer_cpu0 = writer.cpu_seconds if writer is not None else 0.0
        start = time.perf_counter()
        handles = [worker.submit(data={"n": 1}) for _ in range(jobs)]
        for job in handles:
            job.wait(120)
        jobs_per_s = jobs / (time.perf_counter() - start)
        if writer is not None:
            writer.flush()  # the transitions of these jobs, all of them written
        return {
            "items/s": items_per_s,
            "jobs/s": jobs_per_s,
            "cpu_us": (time.process_time() - cpu0) / jobs * 1e6,
            "writer_us": ((writer.cpu_seconds - writer_cpu0) / jobs * 1e6) if writer else 0.0,
            "writes": (writer.written / (jobs + 1)) if writer else 0.0,
        }
    finally:
        rt.shutdown()


def fill(store: SQLiteJobStore, rows: int) -> None:
    base = time.time() - rows
    statuses = ("completed", "completed", "completed", "failed", "cancelled")
    batch = []
    for i in range(rows):
        created = base + i
        batch.append(
            StoredJob(
                job_id=f"job-{i:09d}",
                worker_id="w",
                flow_id=f"flow-{i % 7}",
                status=statuses[i % 5],
                created_at=created,
                started_at=created,
                completed_at=created + 0.5,
                data={"i": i},
            )
        )
        if len(batch) == 20_000:
            store.save_records(batch)
            batch = []
    if batch:
        store.save_records(batch)


def list_latency(
    small: SQLiteJobStore, large: SQLiteJobStore, samples: int = 30
) -> dict[str, tuple[float, float]]:
    """Median ms of a 100-job page from each store, per case; the two stores alternate sample by
    sample, so both see the same machine (a busy moment does not land on one of them only)."""
    cases = {
        "newest first": {},
        "status=failed": {"status": "failed"},
        "created_after (half)": {"created_after": None},
        "sort_by=completed_at asc": {"sort_by": "completed_at", "order": "asc"},
    }
    middles = [s.list_jobs(limit=1, offset=s.count() // 2)[0][0].created_at for s in (small, large)]
    out = {}
    for name, filters in cases.items():
        times: tuple[list[float], list[float]] = ([], [])
        for _ in range(samples):
            for k, store in enumerate((small, large)):
                args = {**filters}
                if "created_after" in args:
                    args["created_after"] = middles[k]
                start = time.perf_counter()
                page, _ = store.list_jobs(limit=100, offset=0, **args)
                times[k].append(time.perf_counter() - start)
                assert len(page) == 100
        out[name] = (statistics.median(times[0]) * 1000, statistics.median(times[1]) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--jobs", type=int, default=5_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        off, on = [], []
        for i in range(args.repeat):  # off and on alternate, so both see the same machine
            off.append(throughput(None, args.items, args.jobs))
            on.append(throughput(folder / f"bench-{i}.db", args.items, args.jobs))
        print(f"engine with a write-through SQLite store vs none (medians of {args.repeat})")
        for key, label in (("items/s", "items/s (one job)"), ("jobs/s", "jobs/s (one-item jobs)")):
            a = statistics.median(r[key] for r in off)
            b = statistics.median(r[key] for r in on)
            pairs = statistics.median(y[key] / x[key] for x, y in zip(off, on, strict=True))
            print(
                f"  {label:<24} off {a:>10,.0f}   on {b:>10,.0f}   on/off {b / a:.2f}"
                f"   (median of pairs {pairs:.2f})"
            )
        engine_cpu = statistics.median(r["cpu_us"] for r in off)
        writer_cpu = statistics.median(r["writer_us"] for r in on)
        print(
            f"  CPU per one-item job: engine (store off) {engine_cpu:.0f} us, the store's writer "
            f"{writer_cpu:.1f} us = {100 * writer_cpu / engine_cpu:.1f} % of it; "
            f"rows written per job {statistics.median(r['writes'] for r in on):.2f}"
        )

        gaps = kill_gaps(folder / "kill.db", args.trials, random.Random(1))
        lost = sum(1 for g in gaps if g > 0)
        print(
            f"kill -9 at random moments, {args.trials} trials: worst gap {max(gaps) * 1000:.0f} ms, "
            f"median {statistics.median(gaps) * 1000:.0f} ms, trials losing anything: {lost}"
        )

        small, large = SQLiteJobStore(folder / "small.db"), SQLiteJobStore(folder / "large.db")
        fill(small, 1_000)
        start = time.perf_counter()
        fill(large, args.rows)
        print(
            f"listing 100 jobs (filled {args.rows:,} rows in {time.perf_counter() - start:.1f} s), median ms"
        )
        for name, (a, b) in list_latency(small, large).items():
            print(f"  {name:<26} 1,000: {a:6.3f}   {args.rows:,}: {b:6.3f}   ratio {b / a:.2f}")
        small.close()
        large.close()


if __name__ == "__main__":
    main()
