"""Connections: an event of one routine wired to a slot of another."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Connection"]


@dataclass(frozen=True)
class Connection:
    """``source_routine.source_event -> target_routine.target_slot``."""

    source_routine: str
    source_event: str
    target_routine: str
    target_slot: str

    @classmethod
    def parse(cls, source: str, target: str) -> Connection:
        """Build from ``"routine.event"`` and ``"routine.slot"`` strings."""
        try:
            src_r, src_e = source.rsplit(".", 1)
            dst_r, dst_s = target.rsplit(".", 1)
        except (ValueError, AttributeError):
            raise ValueError(
                f"connection endpoints must look like 'routine.event' -> 'routine.slot', "
                f"got {source!r} -> {target!r}"
            ) from None
        return cls(src_r, src_e, dst_r, dst_s)

    @property
    def source(self) -> str:
        return f"{self.source_routine}.{self.source_event}"

    @property
    def target(self) -> str:
        return f"{self.target_routine}.{self.target_slot}"

    def to_dict(self, index: int | None = None) -> dict[str, Any]:
        d: dict[str, Any] = {}
        if index is not None:
            d["connection_id"] = f"conn_{index}"
        d.update(
            source_routine=self.source_routine,
            source_event=self.source_event,
            target_routine=self.target_routine,
            target_slot=self.target_slot,
        )
        return d

    def __str__(self) -> str:
        return f"{self.source} -> {self.target}"
