"""DataFrames, Series and arrays in parked data, as the debugger shows and edits them.

:func:`frame_views` lists every frame found in a debug session's variables with the path
that names it (``payload.input.0.df``, the path :meth:`DebugSession.set_variable` and
:meth:`DebugSession.set_cell` take) and its first rows as JSON-safe cells.
:func:`keep_frames` lets a whole-variable edit made from a JSON view keep the frames: a
summary (the debugger's view) stands for the frame it summarizes, and a DataFrame/Series in
the JSON layout of HTTP reads is read back into a frame (so a client may edit cells in it).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from typing import Any

from routilux_nb.core.jsonsafe import to_jsonable
from routilux_nb.core.payloads import describe

__all__ = ["MAX_FRAME_ROWS", "frame_views", "keep_frames"]

#: rows of each frame the debugger shows (and lets the user edit)
MAX_FRAME_ROWS = 50
_MAX_COLUMNS = 50
_MAX_FRAMES = 10
_MAX_DEPTH = 4


def _found(value: Any, path: str, depth: int, out: list[tuple[str, Any]]) -> None:
    if len(out) >= _MAX_FRAMES or depth > _MAX_DEPTH:
        return
    if isinstance(value, Mapping):
        for key, item in list(value.items()):
            if isinstance(key, str) and "." not in key:
                _found(item, f"{path}.{key}", depth + 1, out)
    elif isinstance(value, list):
        for i, item in enumerate(value[:100]):
            _found(item, f"{path}.{i}", depth + 1, out)
    elif describe(value) is not None:
        out.append((path, value))


def _view(path: str, value: Any) -> dict[str, Any]:
    summary = describe(value)
    assert summary is not None
    head = summary.head(MAX_FRAME_ROWS)
    view: dict[str, Any] = {"name": path, **summary.to_dict(), "kind": summary.kind}
    if summary.kind == "DataFrame":
        head = head.iloc[:, :_MAX_COLUMNS]
        view["columns"] = to_jsonable(list(head.columns))
        view["column_dtypes"] = [str(t) for t in head.dtypes]
        view["index"] = to_jsonable(list(head.index))
        view["rows"] = to_jsonable([list(r) for r in head.itertuples(index=False, name=None)])
    else:
        dtype = str(summary.dtypes)
        if summary.kind == "Series" or len(summary.shape) == 1:
            view["columns"] = [str(summary.name) if summary.name is not None else "value"]
            view["column_dtypes"] = [dtype]
            values = head.tolist()
            view["rows"] = to_jsonable([[v] for v in values])
            index = list(head.index) if summary.kind == "Series" else range(len(values))
            view["index"] = to_jsonable(list(index))
        else:  # a 2-D array: columns by position
            view["columns"] = list(range(min(summary.shape[1], _MAX_COLUMNS)))
            view["column_dtypes"] = [dtype] * len(view["columns"])
            view["rows"] = to_jsonable(head[:, :_MAX_COLUMNS].tolist())
            view["index"] = list(range(len(view["rows"])))
        view["editable"] = len(summary.shape) <= 2
    view.setdefault("editable", True)
    view["shown_rows"] = len(view["rows"])
    return view


def frame_views(variables: Mapping[str, Any], names: Iterable[str]) -> list[dict[str, Any]]:
    """Every DataFrame/Series/array among ``variables[name]`` (for each of ``names``, nested
    up to a few levels): ``name`` (its path), ``__type__``, ``summary``, ``shape``, dtypes,
    ``columns``, ``column_dtypes``, ``index`` and ``rows`` (the first ``MAX_FRAME_ROWS``)."""
    found: list[tuple[str, Any]] = []
    for name in names:
        if name in variables:
            _found(variables[name], name, 0, found)
    return [_view(path, value) for path, value in found]


def _is_summary(value: Any) -> bool:
    return isinstance(value, dict) and "__type__" in value and "summary" in value


def _is_layout(value: Any) -> bool:
    """The JSON layout of a DataFrame or Series (:mod:`routilux_nb.core.jsonsafe`)."""
    return (
        isinstance(value, dict)
        and value.get("__type__") in ("DataFrame", "Series")
        and isinstance(value.get("data"), list)
    )


def _from_layout(new: dict[str, Any], old: Any) -> Any:
    """The frame a JSON layout describes: ``old`` itself when the layout is unchanged."""
    if describe(old) is not None and to_jsonable(old) == new:
        return old
    if new.get("truncated"):
        raise ValueError(
            f"the {new['__type__']} in this edit carries only its first rows: edit its cells "
            "with set_cell instead"
        )
    pd = sys.modules.get("pandas")
    if pd is None:
        return new
    index = new.get("index")
    try:
        if new["__type__"] == "Series":
            series = pd.Series(new["data"], index=index, name=new.get("name"))
            return _typed(series, new.get("dtype"))
        frame = pd.DataFrame(new["data"], columns=new.get("columns"), index=index)
        dtypes = new.get("dtypes") or {}
        for i, column in enumerate(list(frame.columns)):
            frame.isetitem(i, _typed(frame.iloc[:, i], dtypes.get(str(column))))
        return frame
    except (TypeError, ValueError, KeyError) as exc:
        raise ValueError(f"this {new['__type__']} layout cannot be read back: {exc}") from None


def _typed(values: Any, dtype: Any) -> Any:
    """``values`` as ``dtype`` when they can be (ISO text back to datetimes), else as read."""
    if not isinstance(dtype, str) or str(values.dtype) == dtype:
        return values
    try:
        if dtype.startswith("datetime64"):
            pd = sys.modules["pandas"]
            stamps = pd.to_datetime(values, utc="," in dtype, format="ISO8601")
            return (
                stamps.dt.tz_convert(dtype.split(",", 1)[1].strip(" ]")) if "," in dtype else stamps
            )
        return values.astype(dtype)
    except (TypeError, ValueError, KeyError, AttributeError):
        return values


def keep_frames(new: Any, old: Any) -> Any:
    """``new`` with each frame summary put back as the frame ``old`` holds at the same place
    (when the summary still matches; a summary with no such frame is refused), and each
    DataFrame/Series JSON layout (as HTTP reads show it) read back into a frame."""
    if _is_summary(new):
        summary = describe(old)
        if summary is not None and summary.text == new.get("summary"):
            return old
        raise ValueError(
            f"{new.get('summary')!r} is a summary, not data: leave it in place to keep the "
            "frame, and edit its cells with set_cell"
        )
    if _is_layout(new):
        return _from_layout(new, old)
    if isinstance(new, dict):
        olds = old if isinstance(old, Mapping) else {}
        return {k: keep_frames(v, olds.get(k)) for k, v in new.items()}
    if isinstance(new, list):
        olds_list = old if isinstance(old, list) else []
        return [
            keep_frames(v, olds_list[i] if i < len(olds_list) else None) for i, v in enumerate(new)
        ]
    return new
