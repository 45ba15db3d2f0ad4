"""One timer thread per runtime for retries, time-based policies and job timeouts.

Idle costs nothing: the thread sleeps on a condition until the next deadline (or until a
timer is added) and is only started when the first timer is. Callbacks run on the timer
thread and must be quick (they enqueue work; they never run routine logic).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["Scheduler", "TimerHandle"]

log = logging.getLogger(__name__)


class TimerHandle:
    __slots__ = ("args", "cancelled", "fn", "when")

    def __init__(self, when: float, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.when, self.fn, self.args, self.cancelled = when, fn, args, False

    def cancel(self) -> None:
        self.cancelled = True


class Scheduler:
    def __init__(self, name: str = "routilux-timer") -> None:
        self._heap: list[tuple[float, int, TimerHandle]] = []
        self._cond = threading.Condition()
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._name = name

    def call_at(self, when: float, fn: Callable[..., Any], *args: Any) -> TimerHandle:
        """Run ``fn(*args)`` at monotonic time ``when``."""
        handle = TimerHandle(when, fn, args)
        with self._cond:
            if self._stopped:
                raise RuntimeError("the runtime is shut down; no timers can be scheduled")
            heapq.heappush(self._heap, (when, next(self._seq), handle))
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()
            self._cond.notify()
        return handle

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> TimerHandle:
        return self.call_at(time.monotonic() + max(0.0, delay), fn, *args)

    def pending(self) -> int:
        with self._cond:
            return sum(1 for *_, h in self._heap if not h.cancelled)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stopped:
                    while self._heap and self._heap[0][2].cancelled:
                        heapq.heappop(self._heap)
                    if not self._heap:
                        self._cond.wait()
                        continue
                    delay = self._heap[0][0] - time.monotonic()
                    if delay <= 0:
                        break
                    self._cond.wait(delay)
                if self._stopped:
                    return
                _, _, handle = heapq.heappop(self._heap)
            if handle.cancelled:
                continue
            try:
                handle.fn(*handle.args)
            except Exception:  # a timer callback must never kill the timer thread
                log.exception("timer callback %r failed", handle.fn)

    def shutdown(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopped = True
            self._heap.clear()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
