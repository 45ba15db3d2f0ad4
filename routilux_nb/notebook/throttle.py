"""Rate limiting for widget updates.

Monitors can produce state far faster than a browser can draw it. A
:class:`Coalescer` keeps only the newest submitted value and hands it to its
callback at most ``max_rate_hz`` times a second, from one lazily started daemon
thread. Intermediate values are dropped on purpose: a view only needs the
latest state.

This module must not import anywidget or ipywidgets.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["Coalescer"]

_log = logging.getLogger(__name__)
_NOTHING = object()


class Coalescer:
    """Call ``fn(latest)`` at most ``max_rate_hz`` times a second.

    >>> seen = []
    >>> c = Coalescer(seen.append, max_rate_hz=100)
    >>> for i in range(5):
    ...     c.submit(i)
    >>> c.close()
    >>> seen[-1]
    4
    """

    def __init__(self, fn: Callable[[Any], object], max_rate_hz: float = 10) -> None:
        if max_rate_hz <= 0:
            raise ValueError("max_rate_hz must be positive")
        self._fn = fn
        self._interval = 1.0 / max_rate_hz
        self._cond = threading.Condition()
        self._latest: Any = _NOTHING
        self._closed = False
        self._thread: threading.Thread | None = None
        self._next_allowed = 0.0

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"Coalescer(max_rate_hz={1.0 / self._interval:g}, {state})"

    def submit(self, value: Any) -> None:
        """Offer a new value; it replaces any value not yet delivered."""
        with self._cond:
            if self._closed:
                raise RuntimeError("Coalescer is closed")
            self._latest = value
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="routilux-nb-coalescer", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def _take(self) -> Any:
        value, self._latest = self._latest, _NOTHING
        return value

    def _deliver(self, value: Any) -> None:
        try:
            self._fn(value)
        except Exception:  # a failing view must not kill the update thread
            _log.exception("Coalescer callback failed")

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._latest is _NOTHING and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                delay = self._next_allowed - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)  # more values may arrive meanwhile
                    continue
                value = self._take()
                self._next_allowed = time.monotonic() + self._interval
            self._deliver(value)

    def close(self, flush: bool = True) -> None:
        """Stop the thread and wait for it; then deliver a pending value if ``flush``.

        The final delivery still respects the rate limit, so it may wait up to
        ``1 / max_rate_hz`` seconds.
        """
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        with self._cond:
            value = self._take()
        if flush and value is not _NOTHING:
            time.sleep(max(0.0, self._next_allowed - time.monotonic()))
            self._deliver(value)
