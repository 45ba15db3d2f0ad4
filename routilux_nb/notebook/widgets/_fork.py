""" "Fork from here" in a widget: an editor of a recorded step's inputs and data.

A widget mixing in :class:`ForkSource` (the trace table on a routine's start/end row, the
debugger on the parked activation) lets the user open an editor pre-filled with the step's
inputs (``{slot: [item, ...]}``) and the job's data as JSON, edit them and start a new job
from that step. The browser checks JSON syntax; Python checks the shape (an object of the
routine's slot names to lists of items, data an object) and says what is wrong in the
widget. Text left as it was sent forks with the recorded values themselves (values that
are not JSON stay exact).

The widget knows no runtime: :meth:`ForkSource.enable_fork` gives it ``load`` and ``start``
(see :mod:`routilux_nb.notebook.fork_views`). Messages take the widget's click path
(:mod:`._clicks`), so the editor works while a cell blocks in ``job.wait()``.

The browser side is ``fork_editor.js`` / ``fork_editor.css``, bundled before the widget's
own module by :func:`bundle`.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Callable, Mapping
from typing import Any

import traitlets

from routilux_nb.core.jsonsafe import to_jsonable

from ._endpoint import direct_info

__all__ = ["MAX_EDIT_CHARS", "ForkLoad", "ForkSource", "ForkStart", "bundle", "check_fork_json"]

_HERE = pathlib.Path(__file__).parent
#: a field whose JSON is longer is not put in the editor (the recorded value is used)
MAX_EDIT_CHARS = 200_000

#: ``load(job_id, step=None, seq=None, parked=False)`` -> the step as a dict with ``job_id``,
#: ``step``, ``seq``, ``routine``, ``status``, ``slots``, ``inputs``, ``data``
ForkLoad = Callable[..., Mapping[str, Any]]
#: ``start(job_id, step, inputs, data)`` -> the new job's id (``None``: the recorded value)
ForkStart = Callable[[str, int, Any, Any], str]


def bundle(module: pathlib.Path, *, css: bool = False) -> str:
    """The fork editor's JS (or CSS) followed by the widget's own ``module`` file."""
    shared = _HERE / ("fork_editor.css" if css else "fork_editor.js")
    return shared.read_text(encoding="utf-8") + "\n" + module.read_text(encoding="utf-8")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


def check_fork_json(
    inputs_text: str | None, data_text: str | None, routine: str, slots: list[str]
) -> tuple[Any, Any]:
    """Parse and check the editor's texts (``None``: not edited); ``ValueError`` says what
    is wrong and what would be right."""
    inputs = data = None
    if inputs_text is not None:
        try:
            inputs = json.loads(inputs_text)
        except ValueError as exc:
            raise ValueError(f"inputs: invalid JSON ({exc})") from None
        if not isinstance(inputs, dict):
            raise ValueError(
                f"inputs must be a JSON object {{slot: [items]}} with slots of routine "
                f"{routine!r} ({', '.join(slots)}), not {_kind(inputs)}"
            )
        for slot, items in inputs.items():
            if slot not in slots:
                raise ValueError(
                    f"routine {routine!r} has no slot {slot!r}; its slots: {', '.join(slots)}"
                )
            if not isinstance(items, list):
                raise ValueError(
                    f"inputs[{slot!r}] must be a list of items ([{{...}}, ...]), not {_kind(items)}"
                )
            for i, item in enumerate(items):
                if not isinstance(item, dict):
                    raise ValueError(
                        f"inputs[{slot!r}][{i}] must be an item (a JSON object), not {_kind(item)}"
                    )
        if not any(inputs.values()):
            raise ValueError(
                f"inputs hold no item: give at least one item to a slot of {routine!r}"
            )
    if data_text is not None:
        try:
            data = json.loads(data_text)
        except ValueError as exc:
            raise ValueError(f"data: invalid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise ValueError(f"data must be a JSON object (the job's data), not {_kind(data)}")
    return inputs, data


class ForkSource(traitlets.HasTraits):
    """Mixin for a :class:`._base.LockedWidget`: the "fork from here" editor's state and
    its ``fork_open`` / ``fork`` / ``fork_close`` message handlers."""

    #: whether the view offers "fork from here" (a runtime is wired: :meth:`enable_fork`)
    fork_enabled = traitlets.Bool(False).tag(sync=True)
    #: the open editor: ``open``, ``job_id``, ``step``, ``seq``, ``routine``, ``slots``,
    #: ``inputs`` and ``data`` (JSON text), ``phase`` (``editing``, ``invalid``, ``started``,
    #: ``failed``), ``message``, ``new_job_id``
    fork_editor = traitlets.Dict().tag(sync=True)
    _direct = traitlets.Dict().tag(sync=True)  # the loopback click endpoint, if any

    _fork_load: ForkLoad | None = None
    _fork_start: ForkStart | None = None
    #: the texts the open editor was filled with (a field sent back unchanged is not edited)
    _fork_recorded: Mapping[str, str] = {}

    def enable_fork(self, load: ForkLoad, start: ForkStart) -> None:
        """Offer "fork from here", reading steps with ``load`` and forking with ``start``."""
        self._fork_load, self._fork_start = load, start
        values: dict[str, Any] = {"fork_enabled": True}
        if not self._direct:
            values["_direct"] = direct_info(self)
        self._update(**values)  # type: ignore[attr-defined]

    def _fork_show(self, **editor: Any) -> str:
        self._update(fork_editor=editor)  # type: ignore[attr-defined]
        return str(editor.get("message") or "")

    def _fork_target(self, content: Mapping[str, Any]) -> dict[str, Any]:
        """``load``'s keyword arguments for a ``fork_open`` message (the debugger overrides)."""
        return {"step": content.get("step"), "seq": content.get("seq")}

    def _on_msg_fork_open(self, content: Mapping[str, Any]) -> str:
        job_id = str(content.get("job_id") or "")
        if self._fork_load is None:
            return self._fork_show(
                open=True, phase="failed", message="fork: this view is not linked to a runtime"
            )
        try:
            target = self._fork_target(content)
            step = self._fork_load(job_id, **target)
        except Exception as exc:
            return self._fork_show(
                open=True, job_id=job_id, phase="failed", message=f"cannot fork: {_why(exc)}"
            )
        inputs, data = to_jsonable(step["inputs"]), to_jsonable(step["data"])
        exact = inputs == step["inputs"] and data == step["data"]
        texts = {
            "inputs": json.dumps(inputs, indent=2, ensure_ascii=False),
            "data": json.dumps(data, indent=2, ensure_ascii=False),
        }
        too_large = [name for name, text in texts.items() if len(text) > MAX_EDIT_CHARS]
        message = (
            ""
            if exact
            else "some values are not JSON and show as text: leave a field as it is to "
            "fork with the recorded values"
        )
        if too_large:
            sizes = ", ".join(f"{name} ({len(texts[name]):,} characters)" for name in too_large)
            message = (
                f"too large to edit here: {sizes}, at most {MAX_EDIT_CHARS:,}; the fork uses "
                "the recorded value (edit it in a cell: job.fork(step, inputs=..., data=...))"
            )
        editor = {
            "open": True,
            "job_id": step["job_id"],
            "step": step["step"],
            "seq": step.get("seq"),
            "routine": step["routine"],
            "status": step.get("status"),
            "slots": list(step["slots"]),
            "inputs": None if "inputs" in too_large else texts["inputs"],
            "data": None if "data" in too_large else texts["data"],
            "too_large": too_large,
            "phase": "editing",
            "message": message,
        }
        self._fork_recorded = texts
        self._fork_show(**editor)
        return f"fork: editing step {step['step']} of {step['job_id']}"

    def _on_msg_fork_close(self, _content: Mapping[str, Any]) -> str:
        self._fork_show()
        return ""

    def _on_msg_fork(self, content: Mapping[str, Any]) -> str:
        editor = dict(self.fork_editor)
        if not editor.get("open") or editor.get("step") is None or self._fork_start is None:
            return self._fork_show(
                **{**editor, "open": True, "phase": "failed", "message": "fork: open a step first"}
            )
        texts, shown = {}, dict(editor)
        for name in ("inputs", "data"):
            text = content.get(name)
            if text is not None and not isinstance(text, str):
                message = f"fork: {name} must be sent as JSON text"
                return self._fork_show(**{**editor, "phase": "invalid", "message": message})
            if name in editor.get("too_large", ()):
                text = None  # not in the editor: the recorded value
            if text is not None:
                shown[name] = text  # the editor keeps what the user sent
            texts[name] = None if text is None or text == self._fork_recorded.get(name) else text
        try:
            inputs, data = check_fork_json(
                texts["inputs"], texts["data"], editor["routine"], editor["slots"]
            )
        except ValueError as exc:
            return self._fork_show(**{**shown, "phase": "invalid", "message": str(exc)})
        try:
            new_id = self._fork_start(editor["job_id"], editor["step"], inputs, data)
        except Exception as exc:
            return self._fork_show(
                **{**shown, "phase": "failed", "message": f"fork failed: {_why(exc)}"}
            )
        message = f"started job {new_id}, forked from {editor['job_id']} at step {editor['step']}"
        return self._fork_show(
            **{**shown, "phase": "started", "new_job_id": new_id, "message": message}
        )


def _why(exc: BaseException) -> str:
    text = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
    return f"{type(exc).__name__}: {text}"
