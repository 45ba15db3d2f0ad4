"""How a click in a widget reaches Python, also while a cell blocks in ``job.wait()``.

Two paths; a click carries an ``id`` and runs once whichever path delivers it first.

1. **The comm, on a kernel subshell.** JupyterLab >= 4.4 and Notebook 7 send comm messages on
   a subshell (kernel setting ``commsOverSubshells``, default ``perCommTarget``) when the
   kernel lists ``"kernel subshells"`` in ``supported_features``; ipykernel >= 7 runs each
   subshell on its own thread, so the message is handled while the main shell is blocked.
   ipykernel 7.4 however re-routes every incoming ``comm_msg`` to the subshell of the last
   message that comm *published* (``BaseComm._reply_subshell_for``, meant for replies to a
   request the kernel sent). Our widgets publish from the monitor's snapshot thread, whose
   parent is the main shell's, so each click was sent back to the blocked main shell and ran
   only after the wait. :func:`route_by_frontend` keeps that re-routing for replies to a
   pending request and otherwise honours the subshell the front end chose.
2. **The direct endpoint** (:mod:`._endpoint`), for frontends without subshells
   (``commsOverSubshells: disabled``, classic Notebook, VS Code): the front end sends the
   click on the comm; without an ``ack`` within 300 ms it posts the same click to a small
   loopback HTTP server in the kernel process (through jupyter-server-proxy on
   JupyterHub/Binder), which runs the handler on its own thread.

The handler runs on the subshell's or the endpoint's thread: widgets guard their state with
their lock (:class:`._base.LockedWidget`), and the waiting thread holds none of those locks.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

__all__ = ["ClickLog", "dispatch", "route_by_frontend"]

_ROUTED = "_routilux_routed"


def _request_id(data: Any) -> str | None:
    """The id of a reply to a kernel request, as ipykernel reads it (``data.content.id``)."""
    if isinstance(data, Mapping):
        content = data.get("content")
        if isinstance(content, Mapping):
            click_id = content.get("id")
            if isinstance(click_id, str):
                return click_id
    return None


def _install(comm: Any) -> None:
    original = getattr(comm, "_reply_subshell_for", None)
    if comm is None or original is None or getattr(original, _ROUTED, False):
        return
    pending = getattr(comm, "_reply_subshell_ids", None)

    def route(data: Any, default: Any) -> Any:
        request_id = _request_id(data)
        if request_id is not None and isinstance(pending, dict) and request_id in pending:
            return original(data, default)
        return default  # the subshell the front end sent the message on (None: main shell)

    setattr(route, _ROUTED, True)
    comm._reply_subshell_for = route


def route_by_frontend(widget: Any) -> None:
    """Let ``widget``'s incoming messages run on the subshell the front end chose."""
    _install(getattr(widget, "comm", None))
    widget.observe(lambda change: _install(change["new"]), names="comm")


class ClickLog:
    """The ids of the last ``size`` clicks handled (thread-safe)."""

    def __init__(self, size: int = 512) -> None:
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def first(self, click_id: str) -> bool:
        """Record ``click_id``; False if it was already handled (the other path got it)."""
        with self._lock:
            if click_id in self._seen:
                return False
            self._seen[click_id] = None
            while len(self._seen) > self._size:
                self._seen.popitem(last=False)
            return True


def _tell(widget: Any, message: dict[str, Any]) -> None:
    if getattr(widget, "comm", None) is not None:
        widget.send(message)


def dispatch(widget: Any, content: Mapping[str, Any], *, via: str) -> dict[str, Any]:
    """Run the ``_on_msg_<type>`` handler for ``content`` once; returns an outcome dict.

    A message with an ``id`` is acknowledged (``{"type": "ack"}``) before its handler runs
    and answered with ``{"type": "done", "text": ...}`` after it; a repeated id is skipped.
    """
    click_id = content.get("id")
    has_id = isinstance(click_id, str) and bool(click_id)
    if has_id:
        if not widget.click_log.first(click_id):
            return {"ok": True, "duplicate": True}
        _tell(widget, {"type": "ack", "id": click_id, "via": via})
    kind = content.get("type")
    handler = getattr(widget, f"_on_msg_{kind}", None)
    if handler is None:
        return {"ok": False, "error": f"{type(widget).__name__} has no message type {kind!r}"}
    result = handler(content)
    text = result if isinstance(result, str) else ""
    if has_id:
        _tell(widget, {"type": "done", "id": click_id, "text": text, "via": via})
    return {"ok": True, "text": text}
