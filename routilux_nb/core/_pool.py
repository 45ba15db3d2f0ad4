"""The runtime's thread pool: bounded, idle threads exit, and stuck threads can be replaced.

A :class:`ThreadPool` is a ``concurrent.futures.Executor``; the engine uses its cheaper
:meth:`ThreadPool.spawn` (no ``Future`` per task). Threads start on demand up to
``max_threads`` and exit after ``idle_timeout`` seconds without work, so an idle runtime
holds no thread.

Timed-out activations: a job's timeout fails the job at once, but Python cannot stop the
thread running its routine. So that one stuck routine does not starve every other worker,
the runtime *lends* the pool one extra thread per activation still running when its job
timed out (:meth:`lend`), and takes it back when that activation returns (:meth:`repay`).
At most ``max_threads`` threads are lent at a time; beyond that the pool stays at its size
and a warning says so.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

__all__ = ["ThreadPool"]

log = logging.getLogger("routilux_nb.core.runtime")


class ThreadPool(Executor):
    """A bounded pool of daemon threads (see module docstring)."""

    def __init__(
        self, max_threads: int, name: str = "routilux", idle_timeout: float = 10.0
    ) -> None:
        if max_threads < 1:
            raise ValueError(f"max_threads must be >= 1, got {max_threads}")
        self.max_threads = max_threads
        self.idle_timeout = idle_timeout
        self._name = name
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)
        self._tasks: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
        self._threads: set[threading.Thread] = set()
        self._idle = 0
        self._lent = 0
        self._shutdown = False
        self._count = 0

    @property
    def lent(self) -> int:
        """Threads lent for activations that outlived their job's timeout."""
        return self._lent

    @property
    def thread_count(self) -> int:
        return len(self._threads)

    def spawn(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on a pool thread; exceptions are logged."""
        with self._lock:
            if self._shutdown:
                raise RuntimeError("the thread pool is shut down")
            self._tasks.append((fn, args))
            if self._idle >= len(self._tasks):
                self._work.notify()
            elif len(self._threads) < self.max_threads + self._lent:
                self._start_thread()
            else:
                self._work.notify()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()

        def call() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:
                future.set_exception(exc)

        self.spawn(call)
        return future

    def lend(self, count: int = 1) -> int:
        """Allow ``count`` more threads for now (bounded); returns how many were granted."""
        with self._lock:
            granted = max(0, min(count, self.max_threads - self._lent))
            self._lent += granted
            for _ in range(min(granted, len(self._tasks))):
                self._start_thread()
        if granted < count:
            log.warning(
                "the thread pool already runs %d extra threads for timed-out activations; "
                "more stuck routines now hold pool threads",
                self._lent,
            )
        return granted

    def repay(self, count: int = 1) -> None:
        """Take back ``count`` lent threads (their stuck activations returned)."""
        with self._lock:
            self._lent = max(0, self._lent - count)

    def _start_thread(self) -> None:  # lock held
        self._count += 1
        thread = threading.Thread(
            target=self._loop, name=f"{self._name}_{self._count}", daemon=True
        )
        self._threads.add(thread)
        thread.start()

    def _loop(self) -> None:
        me = threading.current_thread()
        tasks = self._tasks
        while True:
            with self._lock:
                while not tasks:
                    if self._shutdown:
                        self._threads.discard(me)
                        return
                    self._idle += 1
                    woke = self._work.wait(self.idle_timeout)
                    self._idle -= 1
                    if not woke and not tasks:
                        self._threads.discard(me)
                        return
                if len(self._threads) > self.max_threads + self._lent:
                    self._threads.discard(me)  # a lent thread given back: leave, the work stays
                    self._work.notify()
                    return
                fn, args = tasks.popleft()
            try:
                fn(*args)
            except BaseException:  # a task must never take a pool thread down
                log.exception("task %r failed on the thread pool", fn)
            del fn, args

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._shutdown = True
            if cancel_futures:
                self._tasks.clear()
            threads = list(self._threads)
            self._work.notify_all()
        if wait:
            me = threading.current_thread()
            for thread in threads:
                if thread is not me:
                    thread.join()
