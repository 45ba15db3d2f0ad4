"""One watcher thread per runtime with open live views: last states and late workers.

The snapshot streams stop with the runtime, and a job that ends just before
``runtime.shutdown()`` would never reach the views. The watcher waits on the monitor's
``changed`` condition (notified when a job finishes or pauses) and:

- on a job's end or pause, asks every view of the runtime for an immediate update;
- once the runtime is shut down, delivers the last state to every view (on this thread)
  and releases their streams;
- for a view opened on a flow that no worker runs yet, attaches it to the first worker
  started for that flow (views observe; they never start a worker themselves).

The thread runs only while there are views to watch.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from routilux_nb.core.flow import Flow
    from routilux_nb.core.runtime import Runtime
    from routilux_nb.core.worker import Worker

    from .binding import LiveBinding

__all__ = ["POLL_SECONDS", "ViewWatcher", "running_workers", "watcher_for"]

_log = logging.getLogger(__name__)
#: how often the watcher looks at the runtime between notifications
POLL_SECONDS = 0.2
_WATCHERS: weakref.WeakKeyDictionary[Any, ViewWatcher] = weakref.WeakKeyDictionary()
_REGISTRY_LOCK = threading.Lock()


def running_workers(runtime: Runtime, flow: Flow) -> list[Worker]:
    """The workers of ``runtime`` running ``flow`` (not stopped), oldest first."""
    return [w for w in list(runtime.workers.values()) if w.flow is flow and w.status != "stopped"]


class _Waiting:
    __slots__ = ("alive", "attach", "flow")

    def __init__(self, flow: Flow, attach: Callable[[Worker], Any], alive: Callable[[], bool]):
        self.flow, self.attach, self.alive = flow, attach, alive


class ViewWatcher:
    """Watches one runtime on behalf of its live views (see the module docstring)."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = weakref.ref(runtime)  # the registry maps the runtime to this watcher
        self._lock = threading.Lock()
        self._bindings: list[LiveBinding] = []
        self._waiting: list[_Waiting] = []
        self._thread: threading.Thread | None = None
        self.flushes = 0

    def __repr__(self) -> str:
        return f"ViewWatcher(views={len(self._bindings)}, waiting={len(self._waiting)})"

    def add(self, binding: LiveBinding) -> None:
        """Watch ``binding`` until it is closed."""
        with self._lock:
            self._bindings.append(binding)
            self._ensure_thread()

    def wait_for_worker(
        self, flow: Flow, attach: Callable[[Worker], Any], alive: Callable[[], bool]
    ) -> None:
        """Call ``attach(worker)`` once a worker of ``flow`` runs (while ``alive()``)."""
        with self._lock:
            self._waiting.append(_Waiting(flow, attach, alive))
            self._ensure_thread()

    def _ensure_thread(self) -> None:  # lock held
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="routilux-views", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        runtime = self._runtime()
        changed = getattr(getattr(runtime, "monitor", None), "changed", None)
        seen = -1  # refresh once at start: a change before this thread ran is not lost
        while runtime is not None:
            with self._lock:
                self._bindings = [b for b in self._bindings if not b.closed]
                self._waiting = [w for w in self._waiting if w.alive()]
                bindings, waiting = list(self._bindings), list(self._waiting)
                if not bindings and not waiting:
                    self._thread = None
                    return
            if runtime.closed:
                self._final(bindings)
                return
            self._attach_late(runtime, waiting)
            notified = False
            if changed is not None:
                with changed:
                    if changed.generation == seen:
                        changed.wait(POLL_SECONDS)
                    notified, seen = changed.generation != seen, changed.generation
            else:
                threading.Event().wait(POLL_SECONDS)
            if notified:
                for binding in bindings:
                    binding.refresh()

    def _final(self, bindings: list[LiveBinding]) -> None:
        """The runtime is shut down: send each view its last state, then let go."""
        for binding in bindings:
            if binding.flush():
                self.flushes += 1
            binding.close()
        with self._lock:
            self._bindings, self._waiting = [], []
            self._thread = None

    def _attach_late(self, runtime: Runtime, waiting: list[_Waiting]) -> None:
        for entry in waiting:
            workers = running_workers(runtime, entry.flow)
            if not workers:
                continue
            with self._lock:
                if entry in self._waiting:
                    self._waiting.remove(entry)
            try:
                entry.attach(workers[0])
            except Exception:  # a view that cannot attach must not stop the others
                _log.exception("attaching a live view to worker %s failed", workers[0].worker_id)


def watcher_for(runtime: Runtime) -> ViewWatcher:
    """The watcher of ``runtime`` (created on first use)."""
    with _REGISTRY_LOCK:
        watcher = _WATCHERS.get(runtime)
        if watcher is None:
            watcher = _WATCHERS[runtime] = ViewWatcher(runtime)
        return watcher
