"""Shared plumbing for the notebook widgets.

Widgets are updated from monitor threads while the kernel handles comm
messages on its own thread, and traitlets is not thread-safe. Every mutation
therefore goes through :meth:`LockedWidget._update` under a per-widget
re-entrant lock, replaces trait values (never mutates them in place) and skips
values equal to the current ones, so an unchanged snapshot sends nothing.

Custom messages from the front end are dicts with a ``"type"`` key; they are
routed to ``_on_msg_<type>`` methods of the subclass, on the thread of the kernel
subshell or direct endpoint that delivered them (see :mod:`._clicks`), also while
a cell blocks.

Every widget's mimebundle also carries a static picture of its current state
(``image/png`` and ``text/html``, see :mod:`._static`) from :meth:`LockedWidget.picture`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

import anywidget

from ._clicks import ClickLog, dispatch, route_by_frontend
from ._static import Picture, add_picture

__all__ = ["Callbacks", "LockedWidget"]

_log = logging.getLogger(__name__)


class Callbacks:
    """A thread-safe list of callbacks; failures are logged, not raised."""

    def __init__(self) -> None:
        self._items: list[Callable[..., Any]] = []
        self._lock = threading.Lock()

    def register(self, callback: Callable[..., Any], remove: bool = False) -> None:
        with self._lock:
            if remove:
                self._items = [c for c in self._items if c != callback]
            elif callback not in self._items:
                self._items = [*self._items, callback]

    def __bool__(self) -> bool:
        return bool(self._items)

    def __call__(self, *args: Any) -> list[Any]:
        """Call every callback in order; return their results (an exception for a failure)."""
        results: list[Any] = []
        for callback in list(self._items):
            try:
                results.append(callback(*args))
            except Exception as exc:  # a failing handler must not break the comm
                _log.exception("widget callback %r failed", callback)
                results.append(exc)
        return results


class LockedWidget(anywidget.AnyWidget):
    """An AnyWidget whose trait writes are serialised by a per-widget lock."""

    def __init__(self, **kwargs: Any) -> None:
        self._lock = threading.RLock()
        #: the ids of clicks already handled (a click may arrive by two paths)
        self.click_log = ClickLog()
        super().__init__(**kwargs)
        self.on_msg(self._dispatch_msg)
        route_by_frontend(self)

    def _update(self, **values: Any) -> list[str]:
        """Set the traits whose value differs; return the names that changed."""
        with self._lock:
            changed = [name for name, value in values.items() if getattr(self, name) != value]
            if changed:
                with self.hold_sync():
                    for name in changed:
                        setattr(self, name, values[name])
            return changed

    def picture(self) -> Picture:
        """The static ``(html, png)`` of the current state (``png`` is ``None`` without Pillow)."""
        raise NotImplementedError

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        return add_picture(bundle, self.picture, type(self).__name__)

    def _dispatch_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, Mapping):
            return
        outcome = dispatch(self, content, via="comm")
        if not outcome["ok"]:
            _log.debug("%s ignored message %r", type(self).__name__, content)
