"""Module-level routines for the Dask tests (importable by the cluster's worker processes)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from routilux_nb import Routine


def triple(input, ctx):
    ctx.data["pids"] = sorted({*ctx.data.get("pids", []), os.getpid()})
    print(f"tripling {len(input)}")
    for item in input:
        ctx.emit("output", value=item["value"] * 3)


class Square(Routine):
    slots = ["input"]
    events = ["output"]

    def logic(self, input):
        for item in input:
            self.emit("output", value=item["value"] ** 2)


def collect(input, ctx):
    ctx.data.setdefault("out", []).extend(item["value"] for item in input)


def chatty(input, ctx):
    """Prints, logs and emits interleaved."""
    print("first print")
    ctx.log("first log", n=1)
    ctx.emit("output", value=1)
    print("second print")
    ctx.emit("output", value=2)
    ctx.log("second log", n=2)
    print("third print")


def explode(input):
    raise ValueError("remote failure in explode")


def flaky(input, ctx):
    """Fails on the first attempt, succeeds on the retry."""
    if ctx.attempt == 0:
        raise RuntimeError(f"transient failure on attempt {ctx.attempt}")
    ctx.data["succeeded_on_attempt"] = ctx.attempt
    return {"value": input[0]["value"]}


def wait_for_file(input, ctx):
    """Runs until the file named by the item exists (at most 60 s)."""
    stop = Path(input[0]["stop_file"])
    Path(str(stop) + ".started").write_text("started")
    deadline = time.monotonic() + 60
    while not stop.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    ctx.data["finished"] = True
    Path(str(stop) + ".done").write_text("done")


def kill_times(input, ctx):
    """Kills its own worker process the first ``kills`` times it runs (counted in a file)."""
    marker = Path(input[0]["marker"])
    done = int(marker.read_text()) if marker.exists() else 0
    if done < input[0]["kills"]:
        marker.write_text(str(done + 1))
        os._exit(17)
    return {"value": input[0]["value"], "pid": os.getpid()}


def emit_lock(input, ctx):
    ctx.emit("output", lock=threading.Lock())


def identity(input):
    return [dict(item) for item in input]
