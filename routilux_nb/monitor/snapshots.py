"""Coalescing snapshot streams for user interfaces.

A stream calls ``callback(snapshot)`` at most ``max_rate_hz`` times a second, only when the
snapshot changed, from one ticker thread shared by all streams of a monitor: a widget or a
WebSocket never has to consume every event of a busy job, and the latest state always wins.
The ticker runs only while streams exist.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["SnapshotStream", "Ticker"]

log = logging.getLogger(__name__)


class SnapshotStream:
    def __init__(self, ticker: Ticker, produce: Callable[[], dict[str, Any]],
                 callback: Callable[[dict[str, Any]], None], max_rate_hz: float) -> None:
        self._ticker = ticker
        self.produce = produce
        self.callback = callback
        self.interval = 1.0 / max(0.1, max_rate_hz)
        self.next_due = 0.0
        self.last: dict[str, Any] | None = None
        self.sent = 0
        self.closed = False

    def tick(self, mono: float) -> None:
        if mono < self.next_due:
            return
        self.next_due = mono + self.interval
        snap = self.produce()
        if snap == self.last:
            return
        self.last = snap
        self.sent += 1
        self.callback(snap)
        # the interval counts from the end of this delivery, so a slow snapshot or callback
        # never lets the next one follow closer than the interval
        self.next_due = time.monotonic() + self.interval

    def force(self) -> None:
        """Send the current snapshot now (e.g. right after a user action)."""
        self.next_due = 0.0
        self._ticker.wake()

    def close(self) -> None:
        self.closed = True
        self._ticker.remove(self)

    def __repr__(self) -> str:
        return f"SnapshotStream(rate_hz={1 / self.interval:g}, sent={self.sent}, closed={self.closed})"


class Ticker:
    def __init__(self, resolution: float = 0.02) -> None:
        self._streams: list[SnapshotStream] = []
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._resolution = resolution
        self._stopped = False

    def add(self, stream: SnapshotStream) -> SnapshotStream:
        with self._cond:
            self._streams.append(stream)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="routilux-snapshots", daemon=True)
                self._thread.start()
            self._cond.notify()
        return stream

    def remove(self, stream: SnapshotStream) -> None:
        with self._cond:
            if stream in self._streams:
                self._streams.remove(stream)
            self._cond.notify()

    def wake(self) -> None:
        with self._cond:
            self._cond.notify()

    @property
    def stream_count(self) -> int:
        return len(self._streams)

    def _loop(self) -> None:
        while True:
            with self._cond:
                if self._stopped or not self._streams:
                    self._thread = None
                    return
                streams = list(self._streams)
            mono = time.monotonic()
            for s in streams:
                try:
                    s.tick(mono)
                except Exception:  # one broken view must not stop the others
                    log.exception("snapshot stream failed; closing it")
                    s.close()
            with self._cond:
                if self._streams and not self._stopped:
                    due = min(s.next_due for s in self._streams)
                    self._cond.wait(max(self._resolution, due - time.monotonic()))

    def shutdown(self) -> None:
        with self._cond:
            self._stopped = True
            self._streams.clear()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(2)
