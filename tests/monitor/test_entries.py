"""Activation entries keep inputs and emits flat (monitor/entries.py); readers see them whole."""

from __future__ import annotations

from routilux_nb import Flow, Runtime
from routilux_nb.monitor.entries import (
    compact_emits,
    emit_count,
    emitted,
    input_items,
    input_slots,
)

WAIT = 5.0


def test_compact_forms_round_trip() -> None:
    one = {"input": [{"a": 1}, {"a": 2}]}
    two = {"left": [{"x": 1}], "right": [{"y": 2}, {"y": 3}]}
    assert input_items(one) == [("input", [{"a": 1}, {"a": 2}])]
    assert input_items(one)[0][1] is not one["input"]  # readers get their own lists
    assert input_slots(one) == 1
    assert input_items(two) == list(two.items())
    assert input_slots(two) == 2
    emits = [(1.0, "out", {"v": 1}), (2.0, "err", {"v": 2}), (3.0, "out", {"v": 3})]
    noted = [value for emit in emits for value in emit]  # as an activation notes them
    assert list(emitted(compact_emits(noted))) == emits
    assert emit_count(compact_emits(noted)) == 3
    assert list(emitted(compact_emits(noted[:3]))) == emits[:1]
    assert compact_emits(None) is None and compact_emits([]) is None
    assert list(emitted(None)) == [] and emit_count(None) == 0


def test_trace_and_history_show_every_input_and_emit() -> None:
    flow2 = Flow("entries_many")

    @flow2.routine(slots=["input"], events=["out", "err"])
    def fan(input, ctx):
        for i in range(5):
            ctx.emit("out" if i % 2 == 0 else "err", i=i)

    @flow2.routine(slots=["a", "b"], events=[])
    def take(a, b, ctx):
        ctx.data.setdefault("got", []).append((len(a), len(b)))

    flow2.connect("fan.out", "take.a")
    flow2.connect("fan.err", "take.b")
    with Runtime() as rt:
        worker = rt.start(flow2)
        job = worker.submit("fan", "input", {}).wait(WAIT)
        assert job.status == "completed"
        events = job.trace.to_list()
        emits = [(e["detail"], e["data"]) for e in events if e["event_type"] == "event_emit"]
        assert emits == [("out" if i % 2 == 0 else "err", {"i": i}) for i in range(5)]
        calls = [(e["detail"], e["data"]) for e in events if e["event_type"] == "slot_call"]
        taken = [c for c in calls if c[0] in ("a", "b")]
        assert sorted(p["i"] for _, items in taken for p in items) == list(range(5))
        seqs = [e["event_id"] for e in events]
        assert len(set(seqs)) == len(seqs)
        history = worker.execution_history.to_list()
        assert [h["data"] for h in history if h["routine_id"] == "fan"][::-1] == [  # newest first
            {"i": i} for i in range(5)
        ]
        counts = {r["routine_id"]: r for r in job.metrics.to_dict()["routine_metrics"].values()}
        assert counts["fan"]["items_out"] == 5
