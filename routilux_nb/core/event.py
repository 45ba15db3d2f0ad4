"""Events: the named outputs of a routine."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Event"]


@dataclass(frozen=True)
class Event:
    """An output of a routine; ``params`` documents the payload keys it emits (informational)."""

    name: str
    params: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise ValueError(f"event name must be a non-empty string, got {self.name!r}")
