"""What a map run's watchers read: listeners told of every change and a snapshot of progress.

A mixin of :class:`~routilux_nb.core.mapping.MapRun` (which owns the state it reads); the
notebook's progress bar is one such watcher.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

__all__ = ["FINISHED_STATUSES", "NOT_SUBMITTED", "MapWatching"]

#: the status of an item whose job could not be submitted (the reason is in ``error``)
NOT_SUBMITTED = "not_submitted"
#: item statuses that are final
FINISHED_STATUSES = ("completed", "failed", "cancelled", NOT_SUBMITTED)


class MapWatching:
    """Listeners and :meth:`state` of a map run."""

    _lock: threading.Lock
    _listeners: list[Callable[[Any], None]]
    map_id: str
    worker: Any
    params: list[dict[str, Any]]
    started_at: float
    _done: threading.Event

    def statuses(self) -> list[str]:
        """Each item's status (defined by the run)."""
        raise NotImplementedError

    def add_listener(self, fn: Callable[[Any], None]) -> None:
        """Call ``fn(run)`` whenever an item is submitted or its job ends.

        ``fn`` may run with the engine's lock held: keep it to signalling (set an event);
        read :meth:`state` from another thread. An exception in ``fn`` is ignored.
        """
        with self._lock:
            if fn not in self._listeners:
                self._listeners = [*self._listeners, fn]

    def remove_listener(self, fn: Callable[[Any], None]) -> None:
        """Stop calling ``fn``."""
        with self._lock:
            self._listeners = [f for f in self._listeners if f != fn]

    def _notify(self) -> None:
        for fn in self._listeners:
            try:
                fn(self)
            except Exception:  # a view must never break the run
                continue

    def state(self) -> dict[str, Any]:
        """What a progress view shows: ``map_id, flow_id, total, finished, done, counts``
        (items per status), ``running`` (jobs running now), ``failed`` (failed, cancelled or
        not submitted) and ``elapsed`` seconds since the run started."""
        done = self._done.is_set()  # read first: when true, the counts read after it are final
        counts = dict(Counter(self.statuses()))
        finished = sum(counts.get(s, 0) for s in FINISHED_STATUSES)
        return {
            "map_id": self.map_id,
            "flow_id": self.worker.flow_id,
            "total": len(self.params),
            "finished": finished,
            "done": done,
            "counts": counts,
            "completed": counts.get("completed", 0),
            "failed": sum(counts.get(s, 0) for s in ("failed", "cancelled", NOT_SUBMITTED)),
            "running": counts.get("running", 0),
            "elapsed": round(time.time() - self.started_at, 3),
        }
