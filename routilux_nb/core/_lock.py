"""The lock of a worker's scheduling state: a mutex that does not convoy under the GIL.

A plain ``threading.Lock`` that is contended hands itself to a *sleeping* thread: when its
holder releases it, the waiter wakes up owning the lock, but it still needs the GIL, which
the releasing thread keeps. The releasing thread soon wants the lock back and has to sleep
in turn, handing the GIL over. Two drainers running short activations then trade the lock
and the GIL on every activation: two context switches and several system calls each, which
cost more than the activation itself (measured: about 4 context switches and 30-40 µs of
system time per one-item job of a three-routine chain on two cores).

:class:`YieldingLock` waits differently. A thread that finds it taken gives the GIL away
(``time.sleep(0)``) and tries again, so the holder, which can only be waiting for the GIL or
blocked in a system call, finishes its section, and the lock is never owned by a sleeping
thread. After :data:`YIELDS` tries it blocks like a plain lock (a holder blocked for long in
its section costs the waiter no more than that).

Uncontended it costs what a plain lock costs, plus one Python call for ``acquire`` or
``with``; hot paths skip that call with
``if not lock.try_acquire(): lock.acquire()`` ... ``lock.release()`` (both C calls).
"""

from __future__ import annotations

import threading
import time
from functools import partial
from typing import Any

__all__ = ["YIELDS", "YieldingLock"]

#: how many times a waiter gives the GIL away before it blocks
YIELDS = 20
_yield = time.sleep


class YieldingLock:
    """A non-reentrant mutex with the interface of ``threading.Lock`` (see module docstring).

    ``threading.Condition(YieldingLock())`` works: the condition calls ``acquire`` and
    ``release``."""

    __slots__ = ("_lock", "locked", "release", "try_acquire")

    def __init__(self) -> None:
        lock = self._lock = threading.Lock()
        #: the plain lock's own methods (no Python frame on the hot path)
        self.release = lock.release
        self.locked = lock.locked
        #: ``acquire(blocking=False)``, as a C call
        self.try_acquire = partial(lock.acquire, False)

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        lock = self._lock
        if lock.acquire(False):
            return True
        if not blocking:
            return False
        if timeout < 0:
            for _ in range(YIELDS):
                _yield(0)  # the holder waits for the GIL (or a system call): let it finish
                if lock.acquire(False):
                    return True
        return lock.acquire(True, timeout)

    def __enter__(self) -> bool:
        if self._lock.acquire(False):
            return True
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self._lock.release()

    def __repr__(self) -> str:
        return f"<YieldingLock {'locked' if self._lock.locked() else 'unlocked'}>"
