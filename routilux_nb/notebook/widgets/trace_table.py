"""Trace events as a live table, newest first, with a pause/follow switch.

While ``follow`` is off, new rows are kept in Python and nothing is sent to the
browser, so a user can read a table that is not scrolling under them; turning
``follow`` back on (from the button or from Python) pushes the buffered rows at
once. Filtering happens in the browser over the rows already sent. A DataFrame or array in a
payload shows as its summary (``{df: DataFrame 50×15}``), its dtypes in the cell's tooltip.

``rows`` lives in Python only: a view asks for the whole list once when it renders, and
afterwards receives only the rows that are new, as ``{"type": "rows", "mode": "prepend"}``
messages, so a busy trace costs bytes in proportion to what changed, not to the table.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
import traitlets

from routilux_nb.core.jsonsafe import to_jsonable
from routilux_nb.core.payloads import summary_details, summary_text

from ._base import LockedWidget
from ._fork import ForkSource, bundle
from ._static import Picture, trace_picture

__all__ = ["TRACE_COLUMNS", "TraceTable"]

_HERE = pathlib.Path(__file__).parent
_MAX_DATA_CHARS = 300
_TEXT_COLUMNS = ("event_id", "job_id", "routine_id", "event_type", "data", "status")

TRACE_COLUMNS = (
    "seq",
    "event_id",
    "job_id",
    "routine_id",
    "event_type",
    "timestamp",
    "data",
    "duration",
    "status",
)


def _normalise(row: Mapping[str, Any]) -> dict[str, Any]:
    out = {col: to_jsonable(row.get(col)) for col in TRACE_COLUMNS}
    if row.get("detail") is not None:
        out["detail"] = str(row["detail"])[:_MAX_DATA_CHARS]
    data = out["data"]
    details = summary_details(data)
    if details is not None:  # frames and arrays: their dtypes in the cell's tooltip
        out["data_details"] = details[: _MAX_DATA_CHARS * 4]
    if data is not None and not isinstance(data, str):
        data = summary_text(data)
    if data is not None and len(data) > _MAX_DATA_CHARS:
        data = data[: _MAX_DATA_CHARS - 1] + "…"
    out["data"] = data
    return out


class TraceTable(ForkSource, LockedWidget):
    """The newest ``max_rows`` trace events.

    >>> TraceTable(max_rows=10)
    TraceTable(rows=0, max_rows=10, follow=True)
    """

    _esm = bundle(_HERE / "trace_table.js")  # with fork_editor.js (see ._fork)
    _css = bundle(_HERE / "trace_table.css", css=True)

    rows = traitlets.List(traitlets.Dict())  # not synced: views get deltas (module docstring)
    filter_routine = traitlets.Unicode("").tag(sync=True)
    filter_type = traitlets.Unicode("").tag(sync=True)
    follow = traitlets.Bool(True).tag(sync=True)
    buffered = traitlets.Int(0).tag(sync=True)
    max_rows = traitlets.Int(200).tag(sync=True)

    def __init__(self, max_rows: int = 200, **kwargs: Any) -> None:
        if max_rows < 1:
            raise ValueError("max_rows must be at least 1")
        super().__init__(max_rows=max_rows, **kwargs)
        self._pending: list[dict[str, Any]] = []

    def __repr__(self) -> str:
        return f"TraceTable(rows={len(self.rows)}, max_rows={self.max_rows}, follow={self.follow})"

    def picture(self) -> Picture:
        """The static ``(html, png)``: the newest events."""
        return trace_picture(self._retained())

    def add_rows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Add trace rows given oldest first; shown at once unless ``follow`` is off."""
        newest_first = [_normalise(r) for r in reversed(list(rows))]
        if not newest_first:
            return
        with self._lock:
            if self.follow:
                self._update(rows=(newest_first + self.rows)[: self.max_rows])
                self._send_rows("prepend", newest_first)
            else:
                self._pending = (newest_first + self._pending)[: self.max_rows]
                self._update(buffered=self.buffered + len(newest_first))

    def clear(self) -> None:
        """Drop all rows, shown and buffered."""
        with self._lock:
            self._pending = []
            self._update(rows=[], buffered=0)
            self._send_rows("reset", [])

    @traitlets.observe("follow")
    def _follow_changed(self, change: Mapping[str, Any]) -> None:
        if change["new"]:
            with self._lock:
                pending, self._pending = self._pending, []
                self._update(rows=(pending + self.rows)[: self.max_rows], buffered=0)
                self._send_rows("prepend", pending)

    def _on_msg_request_rows(self, _content: Mapping[str, Any]) -> None:
        with self._lock:
            self._send_rows("reset", self.rows)

    def _send_rows(self, mode: str, rows: list[dict[str, Any]]) -> None:
        """Tell the views about rows (lock held): ``reset`` replaces, ``prepend`` adds newest."""
        if rows or mode == "reset":
            self.send({"type": "rows", "mode": mode, "rows": rows[: self.max_rows]})

    def _retained(self) -> list[dict[str, Any]]:
        with self._lock:
            return (self._pending + self.rows)[: self.max_rows]

    def to_pandas(self, filtered: bool = False) -> pd.DataFrame:
        """Retained rows (buffered ones included), newest first.

        Columns: ``seq`` (Int64), ``event_id``, ``job_id``, ``routine_id``,
        ``event_type``, ``timestamp`` (``datetime64[ns, UTC]``), ``data``,
        ``duration`` (float64), ``status``; text columns are ``object`` holding
        ``str`` or ``None``. With ``filtered``, only rows passing
        ``filter_routine``/``filter_type`` are returned.
        """
        rows = self._retained()
        if filtered:
            rows = [
                r
                for r in rows
                if (not self.filter_routine or r["routine_id"] == self.filter_routine)
                and (not self.filter_type or r["event_type"] == self.filter_type)
            ]
        frame = pd.DataFrame(
            [{c: r.get(c) for c in TRACE_COLUMNS} for r in rows], columns=list(TRACE_COLUMNS)
        )
        frame["seq"] = pd.to_numeric(frame["seq"], errors="coerce").astype("Int64")
        stamps = pd.to_datetime(frame["timestamp"], utc=True, errors="coerce", format="ISO8601")
        frame["timestamp"] = stamps.astype("datetime64[ns, UTC]")
        frame["duration"] = pd.to_numeric(frame["duration"], errors="coerce").astype("float64")
        for col in _TEXT_COLUMNS:
            frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
        return frame
