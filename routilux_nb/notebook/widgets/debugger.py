"""Debugger panel for one paused job: location, variables, call stack, controls.

The panel only talks to Python through custom messages; Python turns them into
calls to registered handlers (the engine's resume/step/drop and variable
edits). Messages run on a kernel subshell's thread, or arrive through the
loopback click endpoint where the frontend has no subshells (see
:mod:`._clicks`), so the buttons work even while a cell is blocked in
``job.wait()``. Handler results and failures are shown in the ``message``
trait; nothing is sent while the job is not paused.

A DataFrame, Series or array in the parked data is listed in ``state["frames"]`` (see
:mod:`routilux_nb.monitor.parked_frames`) and shown as a table whose cells the user edits:
an edit comes back as ``{"type": "set_cell", "name", "row", "column", "text"}``, the text is
read for the column's dtype (:func:`~routilux_nb.core.payloads.parse_cell`) and handed to
the ``on_set_cell`` handlers (the engine's :meth:`DebugSession.set_cell`).

Editable variables are also sent as JSON text (``state["variables_json"]``) and
edits come back as text, so ``499.0`` stays a float. A click names the stop it was
made at (``at``: job id and location); a click that arrives after the job moved on
(e.g. queued behind a busy kernel) is refused instead of acting on the new stop.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Callable, Mapping
from typing import Any

import traitlets

from routilux_nb.core.jsonsafe import to_jsonable
from routilux_nb.core.payloads import parse_cell

from ._base import Callbacks, LockedWidget
from ._endpoint import direct_info
from ._fork import ForkSource, bundle
from ._static import Picture, debugger_picture

__all__ = ["ACTIONS", "Debugger"]

_HERE = pathlib.Path(__file__).parent
ACTIONS = ("resume", "step_over", "step_into", "drop")
EDITABLE_VARIABLES = ("payload",)
_STOP_KEYS = ("kind", "routine_id", "slot_name", "event_name", "breakpoint_id")


class Debugger(ForkSource, LockedWidget):
    """Controls for a job stopped at a breakpoint.

    >>> Debugger()
    Debugger(job_id=None, status=None)
    """

    _esm = bundle(_HERE / "debugger.js")  # with fork_editor.js (see ._fork)
    _css = bundle(_HERE / "debugger.css", css=True)

    state = traitlets.Dict().tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)
    _direct = traitlets.Dict().tag(sync=True)  # the loopback click endpoint, if any

    def __init__(self, state: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._action_callbacks = Callbacks()
        self._set_variable_callbacks = Callbacks()
        self._set_cell_callbacks = Callbacks()
        self._update(_direct=direct_info(self))
        if state is not None:
            self.set_state(state)

    def __repr__(self) -> str:
        return f"Debugger(job_id={self.state.get('job_id')!r}, status={self.state.get('status')!r})"

    @property
    def paused(self) -> bool:
        """Whether the shown job is paused (the controls are enabled)."""
        return self.state.get("status") == "paused"

    def picture(self) -> Picture:
        """The static ``(html, png)``: the job's status, where it is paused, its variables."""
        return debugger_picture(self.state)

    def set_state(self, state: Mapping[str, Any] | None) -> list[str]:
        """Show a debug state (``None`` or ``{}`` clears the panel)."""
        shown = to_jsonable(dict(state or {}))
        variables = shown.get("variables")
        if isinstance(variables, dict):
            shown["variables_json"] = {
                name: json.dumps(value, indent=2, ensure_ascii=False)
                for name, value in variables.items()
            }
        return self._update(state=shown)

    def on_action(self, callback: Callable[[str, str], Any], remove: bool = False) -> None:
        """Register ``callback(action, job_id)`` for Resume/Step over/Step into/Drop."""
        self._action_callbacks.register(callback, remove)

    def on_set_variable(
        self, callback: Callable[[str, Any, str], Any], remove: bool = False
    ) -> None:
        """Register ``callback(name, value, job_id)`` for an applied variable edit."""
        self._set_variable_callbacks.register(callback, remove)

    def on_set_cell(
        self, callback: Callable[[str, int, Any, Any, str], Any], remove: bool = False
    ) -> None:
        """Register ``callback(name, row, column, value, job_id)`` for an edited frame cell."""
        self._set_cell_callbacks.register(callback, remove)

    def _say(self, text: str) -> str:
        self._update(message=text)
        return text

    def _stop(self, at: Mapping[str, Any]) -> tuple[Any, ...]:
        location = at.get("location") if "location" in at else at
        location = location if isinstance(location, Mapping) else {}
        return (at.get("job_id"), *(location.get(k) for k in _STOP_KEYS))

    def _run(self, label: str, callbacks: Callbacks, *args: Any, at: Any = None) -> str:
        if not self.paused:
            return self._say(f"{label}: job is not paused")
        if isinstance(at, Mapping) and self._stop(at) != self._stop(self.state):
            return self._say(f"{label}: not done, the job moved on since the click; look again")
        if not callbacks:
            return self._say(f"{label}: no handler registered")
        results = callbacks(*args)
        failures = [r for r in results if isinstance(r, Exception)]
        if failures:
            text = f"{label} failed: {type(failures[0]).__name__}: {failures[0]}"
        else:
            texts = [r for r in results if isinstance(r, str) and r]
            text = texts[-1] if texts else f"{label}: done"
        return self._say(text)

    def _on_msg_action(self, content: Mapping[str, Any]) -> str:
        action = str(content.get("action") or "")
        if action not in ACTIONS:
            return self._say(f"unknown action {action!r}; choose one of {', '.join(ACTIONS)}")
        return self._run(
            action, self._action_callbacks, action, self.state.get("job_id"), at=content.get("at")
        )

    def _on_msg_set_variable(self, content: Mapping[str, Any]) -> str:
        name = str(content.get("name") or "")
        if name not in EDITABLE_VARIABLES:
            return self._say(f"{name!r} is read-only")
        value = content.get("value")
        if isinstance(content.get("text"), str):  # JSON text as typed: 499.0 stays a float
            try:
                value = json.loads(content["text"])
            except ValueError as exc:
                return self._say(f"set {name}: invalid JSON ({exc}); nothing was changed")
        return self._run(
            f"set {name}",
            self._set_variable_callbacks,
            name,
            value,
            self.state.get("job_id"),
            at=content.get("at"),
        )

    def _on_msg_set_cell(self, content: Mapping[str, Any]) -> str:
        name = str(content.get("name") or "")
        frames = {f.get("name"): f for f in self.state.get("frames") or [] if isinstance(f, dict)}
        frame = frames.get(name)
        if frame is None:
            return self._say(f"no frame {name!r} is shown; nothing was changed")
        row, column = content.get("row"), content.get("column")
        columns = list(frame.get("columns") or [])
        if not isinstance(row, int) or column not in columns:
            return self._say(f"set {name}: no cell at row {row!r}, column {column!r}")
        dtypes = list(frame.get("column_dtypes") or [])
        dtype = str(dtypes[columns.index(column)]) if len(dtypes) == len(columns) else "object"
        try:
            value = parse_cell(str(content.get("text") or ""), dtype)
        except ValueError as exc:
            return self._say(f"set {name}[{row}, {column}]: {exc}; nothing was changed")
        return self._run(
            f"set {name}[{row}, {column}]",
            self._set_cell_callbacks,
            name,
            row,
            column,
            value,
            self.state.get("job_id"),
            at=content.get("at"),
        )

    def _fork_target(self, content: Mapping[str, Any]) -> dict[str, Any]:
        """ "Fork from here" in the debugger forks from the parked activation it shows."""
        if not self.paused:
            raise LookupError("the job is not paused: fork from a step in the trace table")
        at = content.get("at")
        if isinstance(at, Mapping) and self._stop(at) != self._stop(self.state):
            raise LookupError("the job moved on since the click; look again")
        return {"parked": True}
