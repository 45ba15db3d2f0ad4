"""What a breakpoint holds of a job: :class:`Parked` (an activation, a delivery or an emit)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .clock import iso, now

if TYPE_CHECKING:
    from .job import JobContext

__all__ = ["Parked"]


class Parked:
    """Something of a job held at a breakpoint: an activation, a delivery or an emit.

    ``kind`` is the breakpoint type that parked it (``routine``, ``slot``, ``connection``,
    ``event``, or ``step``); ``payload`` may be edited before the job continues.
    """

    __slots__ = (
        "breakpoint_id",
        "event_name",
        "hop",
        "job",
        "kind",
        "parked_at",
        "payload",
        "routine_id",
        "slot_name",
        "target",
        "attempt",
        "connection_index",
        "act_id",
    )

    def __init__(
        self,
        kind: str,
        job: JobContext,
        routine_id: str,
        payload: Any,
        hop: Any,
        *,
        slot_name: str | None = None,
        event_name: str | None = None,
        breakpoint_id: str | None = None,
        target: Any = None,
        attempt: int = 0,
        connection_index: int | None = None,
        act_id: int | None = None,
    ) -> None:
        self.kind, self.job, self.routine_id, self.payload, self.hop = (
            kind,
            job,
            routine_id,
            payload,
            hop,
        )
        self.slot_name, self.event_name, self.breakpoint_id = slot_name, event_name, breakpoint_id
        self.target, self.attempt, self.connection_index, self.act_id = (
            target,
            attempt,
            connection_index,
            act_id,
        )
        self.parked_at = now()

    @property
    def is_activation(self) -> bool:
        return self.target is None

    def location(self) -> dict[str, Any]:
        """Where it is held; ``step`` is the activation's id (what ``job.fork(step)`` and
        ``POST /jobs/{id}/fork`` take), ``None`` for a delivery or an emit."""
        return {
            "kind": self.kind,
            "routine_id": self.routine_id,
            "slot_name": self.slot_name,
            "event_name": self.event_name,
            "connection_index": self.connection_index,
            "breakpoint_id": self.breakpoint_id,
            "parked_at": iso(self.parked_at),
            "step": self.act_id if self.target is None else None,
        }

    def __repr__(self) -> str:
        where = self.slot_name or self.event_name or ""
        return f"Parked(kind={self.kind!r}, routine_id={self.routine_id!r}, at={where!r})"
