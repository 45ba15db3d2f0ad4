"""Slots: the named inputs of a routine, and the bounded per-worker queues behind them.

A :class:`Slot` is the declaration (name, capacity, watermark). At run time each worker owns
one :class:`SlotQueue` per slot; items are kept per job so that items of different jobs never
meet in one activation. Capacity bounds each job's items: a job's producer that finds its
job's share full waits (backpressure) instead of dropping anything, and other jobs' items
never make it wait (see ``core/_delivery.py``). The queue status reports all jobs' items
together (``queue_status()``), or one job's (``queue_status(job_id)``).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULT_MAX_LENGTH", "Slot", "SlotQueue", "pressure_level"]

DEFAULT_MAX_LENGTH = 1000


def pressure_level(unconsumed: int, max_length: int, watermark: float) -> str:
    """``low`` below 60 %, ``medium`` from 60 %, ``high`` from the watermark, ``critical`` when full."""
    if unconsumed >= max_length:
        return "critical"
    usage = unconsumed / max_length
    if usage >= watermark:
        return "high"
    if usage >= 0.6:
        return "medium"
    return "low"


@dataclass(frozen=True)
class Slot:
    """An input of a routine.

    ``max_length`` bounds the items each job has waiting in it (a new job's first items
    wait while all jobs' items together reach it);
    ``watermark`` is the fraction of ``max_length`` from which pressure is ``high``;
    ``put_timeout`` is how long an emitter waits for room before
    :class:`~routilux_nb.core.errors.BackpressureTimeout` is raised.
    """

    name: str
    max_length: int = DEFAULT_MAX_LENGTH
    watermark: float = 0.8
    put_timeout: float = 30.0

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise ValueError(f"slot name must be a non-empty string, got {self.name!r}")
        if int(self.max_length) < 1:
            raise ValueError(f"slot {self.name!r}: max_length must be >= 1, got {self.max_length}")
        if not 0.0 < float(self.watermark) <= 1.0:
            raise ValueError(
                f"slot {self.name!r}: watermark must be in (0, 1], got {self.watermark}"
            )


class SlotQueue:
    """The queue of one slot of one routine in one worker. Guarded by the worker's lock."""

    __slots__ = ("by_job", "count", "max_length", "name", "routine_id", "slot", "total_count")

    def __init__(self, routine_id: str, slot: Slot) -> None:
        self.routine_id = routine_id
        self.name = slot.name
        self.slot = slot
        self.max_length = slot.max_length
        self.by_job: dict[str, deque[tuple[dict[str, Any], Any]]] = {}
        self.count = 0
        self.total_count = 0

    def job_count(self, job_id: str) -> int:
        items = self.by_job.get(job_id)
        return len(items) if items else 0

    def take(self, job_id: str, n: int | None = None) -> list[tuple[dict[str, Any], Any]]:
        """Remove and return up to ``n`` (default: all) items of ``job_id``, oldest first."""
        items = self.by_job.get(job_id)
        if not items:
            return []
        if n is None or n >= len(items):
            del self.by_job[job_id]
            taken = list(items)
        else:
            taken = [items.popleft() for _ in range(n)]
        self.count -= len(taken)
        return taken

    def status(self, job_id: str | None = None) -> dict[str, Any]:
        """Queue status with the spec's fields; per job when ``job_id`` is given."""
        unconsumed = self.count if job_id is None else self.job_count(job_id)
        max_length, watermark = self.max_length, self.slot.watermark
        return {
            "slot_name": self.name,
            "routine_id": self.routine_id,
            "unconsumed_count": unconsumed,
            "total_count": self.total_count,
            "max_length": max_length,
            "watermark_threshold": int(max_length * watermark),
            "usage_percentage": round(unconsumed / max_length, 4),
            "pressure_level": pressure_level(unconsumed, max_length, watermark),
            "is_full": unconsumed >= max_length,
            "is_near_full": unconsumed >= max_length * watermark,
        }
