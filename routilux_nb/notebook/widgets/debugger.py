"""Debugger panel for one paused job: location, variables, call stack, controls.

The panel only talks to Python through custom messages; Python turns them into
calls to registered handlers (the engine's resume/step/drop and variable
edits). The kernel handles them when it handles comm messages: while it is idle,
or while a cell awaits (``await job.wait_async()``). Handler results and failures
are shown in the ``message`` trait; nothing is sent while the job is not paused.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Mapping
from typing import Any

import traitlets

from ._base import Callbacks, LockedWidget, jsonable
from ._static import Picture, debugger_picture

__all__ = ["ACTIONS", "Debugger"]

_HERE = pathlib.Path(__file__).parent
ACTIONS = ("resume", "step_over", "step_into", "drop")
EDITABLE_VARIABLES = ("payload",)


class Debugger(LockedWidget):
    """Controls for a job stopped at a breakpoint.

    >>> Debugger()
    Debugger(job_id=None, status=None)
    """

    _esm = _HERE / "debugger.js"
    _css = _HERE / "debugger.css"

    state = traitlets.Dict().tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)

    def __init__(self, state: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._action_callbacks = Callbacks()
        self._set_variable_callbacks = Callbacks()
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
        return self._update(state=jsonable(dict(state or {})))

    def on_action(self, callback: Callable[[str, str], Any], remove: bool = False) -> None:
        """Register ``callback(action, job_id)`` for Resume/Step over/Step into/Drop."""
        self._action_callbacks.register(callback, remove)

    def on_set_variable(
        self, callback: Callable[[str, Any, str], Any], remove: bool = False
    ) -> None:
        """Register ``callback(name, value, job_id)`` for an applied variable edit."""
        self._set_variable_callbacks.register(callback, remove)

    def _run(self, label: str, callbacks: Callbacks, *args: Any) -> None:
        if not self.paused:
            self._update(message=f"{label}: job is not paused")
            return
        if not callbacks:
            self._update(message=f"{label}: no handler registered")
            return
        results = callbacks(*args)
        failures = [r for r in results if isinstance(r, Exception)]
        if failures:
            text = f"{label} failed: {type(failures[0]).__name__}: {failures[0]}"
        else:
            texts = [r for r in results if isinstance(r, str) and r]
            text = texts[-1] if texts else f"{label}: done"
        self._update(message=text)

    def _on_msg_action(self, content: Mapping[str, Any]) -> None:
        action = str(content.get("action") or "")
        if action not in ACTIONS:
            self._update(message=f"unknown action {action!r}")
            return
        self._run(action, self._action_callbacks, action, self.state.get("job_id"))

    def _on_msg_set_variable(self, content: Mapping[str, Any]) -> None:
        name = str(content.get("name") or "")
        if name not in EDITABLE_VARIABLES:
            self._update(message=f"{name!r} is read-only")
            return
        self._run(
            f"set {name}",
            self._set_variable_callbacks,
            name,
            content.get("value"),
            self.state.get("job_id"),
        )
