"""Module-level routines (importable, so a process pool can unpickle them)."""

from __future__ import annotations

import os

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


def explode(input):
    raise ValueError("remote failure")


def edit_data(input, ctx):
    """Removes one key, mutates one list in place and adds one key."""
    del ctx.data["drop"]
    ctx.data["grow"].append(len(input))
    ctx.data["new"] = "added"


def label(input, ctx):
    """Emits in the mapping form, with extra keyword fields."""
    for item in input:
        ctx.emit("output", item, pid=os.getpid())


def collect_items(input, ctx):
    ctx.data.setdefault("items", []).extend(input)
