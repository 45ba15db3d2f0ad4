"""DataFrames and arrays in monitoring: trace summaries, trace frames, and the debugger showing
and editing a parked frame's cells on a real paused job."""

from __future__ import annotations

import json
from typing import Any

import pytest

from routilux_nb import Flow, JobStateError
from routilux_nb.core import jsonsafe
from routilux_nb.core.payloads import PayloadSummary

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")

WAIT = 5.0


def _frame(rows: int = 50) -> Any:
    data = {f"c{i}": np.arange(rows, dtype="float64") + i for i in range(14)}
    data["name"] = [f"r{i}" for i in range(rows)]
    return pd.DataFrame(data)


def _flow() -> Flow:
    """``src`` emits the submitted frame and an array; ``fit`` keeps what it received."""
    flow = Flow("frames")

    @flow.routine(slots=["input"], events=["output"])
    def src(input: list[dict[str, Any]], ctx: Any) -> None:
        ctx.emit("output", df=input[0]["df"], arr=np.zeros((100, 3)), n=1)

    @flow.routine(slots=["input"], events=[])
    def fit(input: list[dict[str, Any]], ctx: Any) -> None:
        ctx.data["c0_first"] = float(input[0]["df"]["c0"].iloc[0])
        ctx.data["names"] = input[0]["df"]["name"].head(3).tolist()
        ctx.data["arr_corner"] = float(input[0]["arr"][0, 0])
        ctx.data["seen"] = input[0]["df"]

    flow.connect("src.output", "fit.input")
    return flow


def test_traces_show_summaries_not_repr_strings(rt: Any) -> None:
    job = rt.start(_flow()).submit(data={"df": _frame()})
    assert job.wait(WAIT).status == "completed", job.error
    emits = [e for e in job.trace.to_list() if e["event_type"] == "event_emit"]
    data = emits[0]["data"]
    assert data["df"]["__type__"] == "DataFrame" and data["df"]["summary"] == "DataFrame 50×15"
    assert data["df"]["shape"] == [50, 15] and data["df"]["dtypes"]["name"] == "str"
    assert data["arr"]["summary"] == "ndarray float64 (100, 3)" and data["n"] == 1
    json.dumps(job.trace.to_list())  # JSON as is: nothing left to sanitize

    frame = job.trace.to_pandas()
    emitted = frame[frame.event_type == "event_emit"].iloc[0]["data"]
    summary = emitted["df"]
    assert isinstance(summary, PayloadSummary) and repr(summary) == "DataFrame 50×15"
    assert summary.head(2).shape == (2, 15) and summary.dtypes["c0"] == "float64"
    assert "DataFrame 50×15" in frame.to_string() and "c13" not in frame.to_string()
    assert "DataFrame 50×15" in job.trace._repr_html_()


def test_job_to_dict_is_always_json(rt: Any) -> None:
    job = rt.start(_flow()).submit(data={"df": _frame()})
    assert job.wait(WAIT).status == "completed", job.error
    loop: dict[str, Any] = {}
    loop["self"] = loop
    job.data.update(
        when=pd.Timestamp("2026-03-01 12:00", tz="Europe/Paris"),
        naive=pd.Timestamp("2026-03-01"),
        nat=pd.NaT,
        np_int=np.int64(7),
        np_float=np.float32(0.5),
        nan=float("nan"),
        tags={"b", "a"},
        by_pair={(1, 2): "x"},
        huge=10**5000,
        text="lone \udc80",
        loop=loop,
        obj=object(),
        series=pd.Series([1.5, None], name="s"),
        indexed=pd.DataFrame({"v": [1, 2]}, index=["a", "b"]),
    )
    d = json.loads(json.dumps(job.to_dict()))
    data = d["data"]
    seen = data["seen"]
    assert seen["__type__"] == "DataFrame" and seen["shape"] == [50, 15]
    assert seen["columns"][0] == "c0" and seen["data"][1][:2] == [1.0, 2.0]
    assert seen["data"][0][-1] == "r0" and seen["dtypes"]["c0"] == "float64"
    assert "index" not in seen and seen["truncated"] is False
    assert data["when"] == "2026-03-01T12:00:00+01:00" and data["naive"] == "2026-03-01T00:00:00"
    assert data["nat"] is None and data["np_int"] == 7 and data["np_float"] == 0.5
    assert data["nan"] is None and data["tags"] == ["a", "b"] and data["by_pair"] == {"(1, 2)": "x"}
    assert data["huge"].startswith("0x") and data["text"] == "lone \ufffd"
    assert data["loop"] == {"self": "<circular reference>"} and data["obj"].startswith("<object")
    assert data["series"]["data"] == [1.5, None] and data["series"]["name"] == "s"
    assert data["indexed"]["index"] == ["a", "b"] and data["indexed"]["data"] == [[1], [2]]
    assert json.loads(jsonsafe.dumps(job.to_dict())) == d


def _parked(rt: Any, kind: str = "routine") -> tuple[Any, Any]:
    w = rt.start(_flow())
    if kind == "routine":
        rt.monitor.add_breakpoint("routine", "fit", worker=w)
    else:
        rt.monitor.add_breakpoint("event", "src", event_name="output", worker=w)
    original = _frame()
    job = w.submit(data={"df": original})
    assert job.debug.wait_paused(WAIT)
    return job, original


def test_debugger_lists_and_edits_a_parked_frame(rt: Any) -> None:
    job, original = _parked(rt)
    d = job.debug.to_dict()
    json.dumps(d)
    views = {v["name"]: v for v in d["frames"]}
    view = views["payload.input.0.df"]
    assert view["summary"] == "DataFrame 50×15" and view["columns"][0] == "c0"
    assert view["rows"][0][0] == 0.0 and view["shown_rows"] == 50 and view["index"][:2] == [0, 1]
    assert views["payload.input.0.arr"]["summary"] == "ndarray float64 (100, 3)"
    assert d["variables"]["payload"]["input"][0]["df"]["summary"] == "DataFrame 50×15"

    html = job.debug._repr_html_()
    assert "payload.input.0.df" in html and "DataFrame 50×15" in html and ">r9<" in html
    job.debug.set_cell("payload.input.0.df", 0, "c0", 42.5)
    job.debug.set_cell("payload.input.0.df", 1, "name", "edited")
    job.debug.set_cell("payload.input.0.arr", 0, 0, 7)
    edited = {v["name"]: v for v in job.debug.to_dict()["frames"]}
    assert edited["payload.input.0.df"]["rows"][0][0] == 42.5
    job.debug.resume()
    assert job.wait(WAIT).status == "completed", job.error
    assert job.data["c0_first"] == 42.5 and job.data["names"] == ["r0", "edited", "r2"]
    assert job.data["arr_corner"] == 7.0
    assert original["c0"].iloc[0] == 0.0 and original["name"].iloc[1] == "r1"  # user's frame


def test_a_cell_edit_on_an_emit_breakpoint_never_touches_the_emitter(rt: Any) -> None:
    job, original = _parked(rt, "event")
    names = [v["name"] for v in job.debug.to_dict()["frames"]]
    assert "payload.df" in names
    job.debug.set_cell("payload.df", 0, "c0", -1.0)
    job.debug.resume()
    assert job.wait(WAIT).status == "completed", job.error
    assert job.data["c0_first"] == -1.0 and original["c0"].iloc[0] == 0.0


def test_bad_cell_edits_are_refused_and_change_nothing(rt: Any) -> None:
    job, _ = _parked(rt)
    s = job.debug
    with pytest.raises(ValueError, match=r"cannot put 'abc' into column 'c0' \(float64\)"):
        s.set_cell("payload.input.0.df", 0, "c0", "abc")
    with pytest.raises(IndexError, match=r"row 50 is out of range: the DataFrame 50×15 has rows"):
        s.set_cell("payload.input.0.df", 50, "c0", 1.0)
    with pytest.raises(KeyError, match="no column 'nope'; the columns are 'c0'"):
        s.set_cell("payload.input.0.df", 0, "nope", 1.0)
    with pytest.raises(TypeError, match="payload.input.0.n is a int, not a DataFrame"):
        s.set_cell("payload.input.0.n", 0, "c0", 1.0)
    with pytest.raises(KeyError, match="unknown frame 'config.df'"):
        s.set_cell("config.df", 0, "c0", 1.0)
    # a whole-payload edit from the JSON view keeps the frames it shows as summaries
    shown = s.to_dict()["variables"]["payload"]
    shown["input"][0]["n"] = 5
    s.set_variable("payload", shown)
    assert isinstance(s.variables()["payload"]["input"][0]["df"], pd.DataFrame)
    shown["input"][0]["df"] = {**shown["input"][0]["df"], "summary": "DataFrame 1×1"}
    with pytest.raises(ValueError, match="is a summary, not data"):
        s.set_variable("payload", shown)
    s.resume()
    assert job.wait(WAIT).status == "completed", job.error
    assert job.data["c0_first"] == 0.0
    with pytest.raises(JobStateError):
        s.set_cell("payload.input.0.df", 0, "c0", 1.0)
