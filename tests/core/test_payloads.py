"""DataFrames and arrays as payloads: mutation safety (copy policy) and summaries."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from routilux_nb.core import Flow, JobContext, Runtime
from routilux_nb.core.payloads import (
    PayloadSummary,
    describe,
    owned,
    payload_policy,
    set_payload_policy,
)

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")


@pytest.fixture
def share_restored() -> Iterator[None]:
    old = payload_policy()
    yield
    set_payload_policy(old)


def _frame() -> Any:
    return pd.DataFrame({"x": [1.0, 2.0, 3.0], "name": ["a", "b", "c"]})


def _mutating_flow(seen: dict[str, Any], lock: threading.Lock) -> Flow:
    """``src`` emits the frame and array it was given (and keeps them); ``left`` and ``right``
    both receive them and mutate them in place; ``check`` reads what ``src`` kept."""
    flow = Flow("mutations")

    @flow.routine(slots=["input"], events=["output"])
    def src(input: list[dict[str, Any]], ctx: Any) -> None:
        item = input[0]
        with lock:
            seen["src_frame"], seen["src_array"] = item["df"], item["arr"]
        ctx.emit("output", df=item["df"], arr=item["arr"], n=1)

    def mutate(name: str) -> Callable[..., None]:
        def logic(input: list[dict[str, Any]], ctx: Any) -> None:
            df, arr = input[0]["df"], input[0]["arr"]
            df.loc[0, "x"] = -100.0
            df["extra"] = name
            try:
                arr[0] = -100
            except ValueError as exc:  # a read-only view: take a copy to write
                with lock:
                    seen[f"{name}_refused"] = str(exc)
                arr = arr.copy()
                arr[0] = -100
            with lock:
                seen[name] = (df, arr)

        return logic

    flow.routine(mutate("left"), routine_id="left", events=[])
    flow.routine(mutate("right"), routine_id="right", events=[])
    flow.connect("src.output", "left.input")
    flow.connect("src.output", "right.input")
    return flow


def _run_mutations(rt: Runtime, finished: Callable[..., JobContext]) -> tuple[Any, ...]:
    seen: dict[str, Any] = {}
    lock = threading.Lock()
    frame, arr = _frame(), np.arange(4)
    worker = rt.start(_mutating_flow(seen, lock))
    finished(worker.submit(data={"df": frame, "arr": arr}), 10)
    return frame, arr, seen


@pytest.mark.parametrize("policy", ["protect", "copy"])
def test_downstream_mutation_never_reaches_the_user_or_the_emitter(
    runtime: Runtime, finished: Callable[..., JobContext], share_restored: None, policy: str
) -> None:
    set_payload_policy(policy)
    frame, arr, seen = _run_mutations(runtime, finished)
    if policy == "protect":  # arrays arrive as read-only views
        assert "read-only" in seen["left_refused"] and "read-only" in seen["right_refused"]
    else:
        assert "left_refused" not in seen and "right_refused" not in seen
    assert frame["x"].tolist() == [1.0, 2.0, 3.0] and "extra" not in frame  # user's original
    assert arr.tolist() == [0, 1, 2, 3]
    assert seen["src_frame"]["x"].tolist() == [1.0, 2.0, 3.0]  # the emitter's frame
    assert seen["src_array"].tolist() == [0, 1, 2, 3]
    left, right = seen["left"], seen["right"]
    assert left[0] is not right[0] and left[1] is not right[1]  # siblings: one copy each
    assert left[0]["extra"].tolist() == ["left"] * 3 and right[0]["extra"].tolist() == ["right"] * 3
    assert left[0].loc[0, "x"] == -100.0 and right[1][0] == -100


def test_share_policy_passes_the_same_objects(
    runtime: Runtime, finished: Callable[..., JobContext], share_restored: None
) -> None:
    assert set_payload_policy("share") == "protect"
    frame, arr, seen = _run_mutations(runtime, finished)
    assert seen["left"][0] is frame and seen["right"][1] is arr  # by reference: mutated
    assert arr[0] == -100


def test_plain_items_pass_untouched_and_bad_policy_is_refused(share_restored: None) -> None:
    set_payload_policy("protect")
    item = {"a": 1, "b": [1, 2], "c": {"d": np.float64(1.0)}}
    assert owned(item) is item
    with_frame = {"a": 1, "df": _frame()}
    out = owned(with_frame)
    assert out is not with_frame and out["a"] == 1 and out["df"] is not with_frame["df"]
    view = owned({"arr": np.arange(3)})["arr"]
    assert not view.flags.writeable and view.tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="choose one of protect, copy, share"):
        set_payload_policy("readonly")


def test_summaries() -> None:
    frame = pd.DataFrame(np.zeros((50, 15)), columns=[f"c{i}" for i in range(15)])
    s = describe(frame)
    assert isinstance(s, PayloadSummary) and str(s) == "DataFrame 50×15"
    assert s.to_dict()["shape"] == [50, 15] and s.to_dict()["dtypes"]["c0"] == "float64"
    assert s.head(3).shape == (3, 15)
    assert repr(describe(np.zeros((100, 3)))) == "ndarray float64 (100, 3)"
    series = describe(pd.Series([1, 2], name="n"))
    assert str(series) == "Series 'n' int64 (2,)" and series.to_dict()["name"] == "n"
    assert describe(np.float64(1.0)) is None and describe({"a": 1}) is None


def test_a_routine_mutating_its_frame_in_place_leaves_the_retry_intact() -> None:
    """With recorded steps (the notebook default) a retry gets the frame as first delivered."""
    pd = pytest.importorskip("pandas")
    rt = Runtime(record_steps=True)
    flow = Flow("entry-mutates")
    calls = []

    @flow.routine(slots=["input"], events=[])
    def entry(input, ctx):
        frame = input[0]["df"]
        calls.append(int(frame.loc[0, "x"]))
        frame.loc[0, "x"] = 99  # in place, on what it was given
        if len(calls) == 1:
            raise RuntimeError("first run fails")

    original = pd.DataFrame({"x": [1, 2]})
    job = rt.submit(flow, {"df": original})
    job.wait(10)
    assert job.status == "failed"
    again = job.retry().wait(10)
    assert again.status == "completed"
    assert calls == [1, 1]  # the retry saw the frame as submitted
    assert int(original.loc[0, "x"]) == 1
    rt.shutdown()
