"""Payloads and job data in HTML reprs: every value as a short summary, and a DataFrame,
Series or array as ``DataFrame 50×15`` with its dtypes and its first rows (folded), never as
a repr string.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from routilux_nb.core.payloads import PayloadSummary, describe, summary_text
from routilux_nb.monitor.records import summarize

from .html import escape, table

__all__ = ["data_section", "frame_html", "parked_frames_html"]

_MAX_KEYS = 50
_HEAD_ROWS = 5
_MAX_COLUMNS = 20
_CELL_TEXT = 200


def frame_html(summary: PayloadSummary, rows: int = _HEAD_ROWS) -> str:
    """The first ``rows`` rows of a DataFrame/Series (index first) or array, as a table."""
    head = summary.head(rows)
    if summary.kind == "DataFrame":
        head = head.iloc[:, :_MAX_COLUMNS]
        columns = ["", *(str(c) for c in head.columns)]
        body = [
            {"": str(idx), **{str(c): v for c, v in zip(head.columns, values, strict=True)}}
            for idx, values in zip(head.index, head.itertuples(index=False, name=None), strict=True)
        ]
    elif summary.kind == "Series":
        columns = ["", str(summary.name) if summary.name is not None else "value"]
        body = [{"": str(i), columns[1]: v} for i, v in zip(head.index, head.tolist(), strict=True)]
    else:
        columns = ["", "value"]
        body = [{"": str(i), "value": v} for i, v in enumerate(head.tolist())]
    return table(body, columns, rows)


def _dtypes_text(summary: PayloadSummary) -> str:
    if isinstance(summary.dtypes, dict):
        return ", ".join(f"{c}: {t}" for c, t in summary.dtypes.items())
    return str(summary.dtypes)


def data_section(data: Mapping[str, Any]) -> str:
    """A key/value table of ``data`` (a job's data) with each frame's head folded below it;
    ``""`` when ``data`` is empty."""
    items = list(data.items())
    if not items:
        return ""
    rows, frames = [], []
    for key, value in items[:_MAX_KEYS]:
        summary = describe(value)
        if summary is None:
            text = summary_text(summarize(value, _CELL_TEXT))
            rows.append({"key": key, "value": text[:_CELL_TEXT]})
            continue
        rows.append({"key": key, "value": f"{summary.text} ({_dtypes_text(summary)})"[:300]})
        frames.append(
            f'<details style="margin-top:4px"><summary style="cursor:pointer">'
            f"{escape(key)}: {escape(summary.text)}, first rows</summary>"
            f"{frame_html(summary)}</details>"
        )
    out = table(rows, ["key", "value"], _MAX_KEYS) + "".join(frames)
    if len(items) > _MAX_KEYS:
        out += f'<div style="opacity:0.7">… {len(items) - _MAX_KEYS} more keys</div>'
    return out


def parked_frames_html(frames: list[dict[str, Any]], rows: int = 10) -> str:
    """The frames a debug session lists (``to_dict()["frames"]``): each as its path, summary
    and first ``rows`` rows."""
    out = []
    for view in frames:
        columns = ["", *(str(c) for c in view.get("columns") or [])]
        body = [
            {"": str(idx), **dict(zip(columns[1:], values, strict=False))}
            for idx, values in zip(view.get("index") or [], view.get("rows") or [], strict=False)
        ]
        out.append(
            f'<div style="margin-top:4px"><code>{escape(view.get("name"))}</code> '
            f"{escape(view.get('summary'))}</div>{table(body, columns, rows)}"
        )
    return "".join(out)
