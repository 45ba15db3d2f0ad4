"""DataFrames in the notebook views: the live debugger's table edits a parked frame's cells on a
real paused job, the trace table shows summaries, the job repr shows shape, dtypes and head."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import routilux_nb as rx
from routilux_nb.notebook import live
from routilux_nb.notebook.reprs import html_for
from routilux_nb.notebook.widgets import TraceTable

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")

WAIT = 5.0


def until(predicate: Callable[[], Any], timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.01)


@pytest.fixture
def rt() -> Iterator[rx.Runtime]:
    runtime = rx.Runtime()
    yield runtime
    runtime.shutdown()


def frames_flow() -> rx.Flow:
    flow = rx.Flow("frames-live")

    @flow.routine(slots=["input"], events=["output"])
    def clean(input: list[dict[str, Any]], ctx: Any) -> None:
        ctx.emit("output", df=input[0]["df"])

    @flow.routine(slots=["input"], events=[])
    def fit(input: list[dict[str, Any]], ctx: Any) -> None:
        df = input[0]["df"]
        ctx.data["total"] = float(df["x"].sum())
        ctx.data["labels"] = df["label"].tolist()
        ctx.data["frame"] = df

    flow.connect("clean.output", "fit.input")
    return flow


def _frame() -> Any:
    return pd.DataFrame({"x": [1.0, 2.0, float("nan")], "label": ["a", "b", "c"]})


def test_live_debugger_edits_a_frame_cell_then_resumes(rt: rx.Runtime) -> None:
    worker = rt.start(frames_flow())
    bp = rt.monitor.add_breakpoint("routine", "fit", worker=worker)
    job = worker.submit(data={"df": _frame()})
    view = live.debugger(job)
    try:
        until(lambda: view.paused and view.state.get("frames"))
        frame = view.state["frames"][0]
        assert frame["name"] == "payload.input.0.df" and frame["summary"] == "DataFrame 3×2"
        assert frame["rows"] == [[1.0, "a"], [2.0, "b"], [None, "c"]]
        assert frame["column_dtypes"] == ["float64", "str"]
        name = frame["name"]
        view._handle_custom_msg(
            {"type": "set_cell", "name": name, "row": 2, "column": "x", "text": "4.5"}, []
        )
        assert view.message == f"set {name}[2, x]: done"
        view._handle_custom_msg(
            {"type": "set_cell", "name": name, "row": 0, "column": "label", "text": "z"}, []
        )
        view._handle_custom_msg(
            {"type": "set_cell", "name": name, "row": 0, "column": "x", "text": "abc"}, []
        )
        assert "'abc' is not a number (the column is float64); nothing was changed" in view.message
        view._handle_custom_msg(
            {"type": "set_cell", "name": "payload.nope", "row": 0, "column": "x", "text": "1"}, []
        )
        assert view.message == "no frame 'payload.nope' is shown; nothing was changed"
        until(lambda: view.state["frames"][0]["rows"][2] == [4.5, "c"])
        rt.monitor.remove_breakpoint(bp.breakpoint_id)
        view._handle_custom_msg({"type": "action", "action": "resume"}, [])
        assert job.wait(WAIT).status == "completed", job.error
        assert job.data["total"] == 7.5 and job.data["labels"] == ["z", "b", "c"]
    finally:
        view.close()


def test_trace_table_and_job_repr_show_summaries(rt: rx.Runtime) -> None:
    job = rt.start(frames_flow()).submit(data={"df": _frame()})
    assert job.wait(WAIT).status == "completed", job.error
    job.data["arr"] = np.ones((4, 2))
    table = TraceTable(max_rows=50)
    table.add_rows(job.trace.to_list())
    emitted = [r for r in table.rows if r["event_type"] == "event_emit"][0]
    assert emitted["data"] == "{'df': DataFrame 3×2}"
    assert emitted["data_details"] == "df: DataFrame 3×2 (x: float64, label: str)"
    html = html_for(job)
    assert "DataFrame 3×2 (x: float64, label: str)" in html and "<details" in html
    assert "ndarray float64 (4, 2)" in html and "total" in html
    assert "   x label" not in html  # never the frame's repr string
