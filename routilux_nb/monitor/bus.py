"""The event bus: every subscriber gets every event it subscribed to.

Each :class:`Subscription` has its own bounded queue, so subscribers never compete for
events. Events carry the global sequence number; a subscriber that falls behind loses the
oldest events of its queue and learns how many (``missed``), and a reconnecting client can
``subscribe(since=seq)`` to replay what the bus still retains.

>>> bus = EventBus()
>>> a, b = bus.subscribe(), bus.subscribe(job_id="job-1")
>>> bus.publish({"seq": 1, "type": "job_start", "job_id": "job-1"})
>>> a.get(0)["seq"], b.get(0)["seq"]
(1, 1)
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["EventBus", "Subscription"]


class Subscription:
    """A filtered, bounded, private queue of bus messages."""

    def __init__(
        self,
        bus: EventBus,
        *,
        job_id: str | None = None,
        worker_id: str | None = None,
        flow_id: str | None = None,
        event_types: Iterable[str] | None = None,
        maxsize: int = 10_000,
    ) -> None:
        self._bus = bus
        self.job_id, self.worker_id, self.flow_id = job_id, worker_id, flow_id
        self.event_types = frozenset(event_types) if event_types else None
        self._queue: deque[dict[str, Any]] = deque()
        self._maxsize = maxsize
        self._cond = threading.Condition()
        self.missed = 0
        self.delivered = 0
        self.last_seq = 0
        self.closed = False

    def matches(self, msg: dict[str, Any]) -> bool:
        return (
            (self.job_id is None or msg.get("job_id") == self.job_id)
            and (self.worker_id is None or msg.get("worker_id") == self.worker_id)
            and (self.flow_id is None or msg.get("flow_id") == self.flow_id)
            and (self.event_types is None or msg.get("type") in self.event_types)
        )

    def update_filter(self, **fields: Any) -> None:
        """Change ``job_id``/``worker_id``/``flow_id``/``event_types`` (subscribe/unsubscribe)."""
        with self._cond:
            for key, value in fields.items():
                if key == "event_types":
                    value = frozenset(value) if value else None
                setattr(self, key, value)

    def put(self, msg: dict[str, Any]) -> None:
        """Queue ``msg`` (the bus calls this for each matching message); when the queue is
        full the oldest message is dropped and counted in ``missed``."""
        with self._cond:
            if self.closed:
                return
            if len(self._queue) >= self._maxsize:
                self._queue.popleft()
                self.missed += 1
            self._queue.append(msg)
            self._cond.notify()

    def get(self, timeout: float | None = None) -> dict[str, Any] | None:
        """Next message, waiting up to ``timeout`` seconds (``None``: forever); ``None`` if none."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._queue and not self.closed:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)
            if not self._queue:
                return None
            msg = self._queue.popleft()
        self.delivered += 1
        self.last_seq = msg.get("seq", self.last_seq)
        return msg

    def drain(self, max_items: int = 1000) -> list[dict[str, Any]]:
        """Everything queued now (up to ``max_items``), without waiting."""
        with self._cond:
            n = min(max_items, len(self._queue))
            out = [self._queue.popleft() for _ in range(n)]
        if out:
            self.delivered += len(out)
            self.last_seq = out[-1].get("seq", self.last_seq)
        return out

    def pending(self) -> int:
        return len(self._queue)

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()
        self._bus.unsubscribe(self)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        while not self.closed:
            msg = self.get()
            if msg is not None:
                yield msg

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        scope = self.job_id or self.worker_id or self.flow_id or "all"
        return f"Subscription(scope={scope!r}, pending={len(self._queue)}, missed={self.missed})"


class EventBus:
    """Fan-out of monitor events; retains the last ``retain`` events for resuming clients."""

    def __init__(self, retain: int = 10_000) -> None:
        self._subs: tuple[Subscription, ...] = ()
        self._lock = threading.Lock()
        self._ring: deque[dict[str, Any]] = deque(maxlen=retain)
        #: true while anyone listens (the engine checks it before building messages)
        self.active = False
        self.published = 0

    def subscribe(self, *, since: int | None = None, **filters: Any) -> Subscription:
        """A new subscription; with ``since``, retained events after that seq are replayed first."""
        sub = Subscription(self, **filters)
        with self._lock:
            if since is not None:
                retained = [m for m in self._ring if m["seq"] > since]
                oldest = self._ring[0]["seq"] if self._ring else None
                if oldest is not None and oldest > since + 1:
                    sub.missed += oldest - since - 1
                for m in retained:
                    if sub.matches(m):
                        sub.put(m)
            self._subs = (*self._subs, sub)
            self.active = True
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Stop delivering to ``sub`` (``sub.close()`` calls this)."""
        with self._lock:
            self._subs = tuple(s for s in self._subs if s is not sub)

    def publish(self, msg: dict[str, Any]) -> None:
        self.published += 1
        self._ring.append(msg)
        for sub in self._subs:
            if sub.matches(msg):
                sub.put(msg)

    @property
    def last_seq(self) -> int:
        """The newest seq published and still retained (0 before any)."""
        ring = self._ring
        try:
            return int(ring[-1]["seq"]) if ring else 0
        except IndexError:  # emptied meanwhile
            return 0

    @property
    def subscriber_count(self) -> int:
        return len(self._subs)

    def __repr__(self) -> str:
        return f"EventBus(subscribers={len(self._subs)}, published={self.published})"
