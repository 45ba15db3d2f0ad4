"""Activation policies: when a routine runs, and which queued items it takes.

The engine asks a policy each time the queued items of a routine (for one job) change and
whenever a timer it asked for fires. A policy answers with a :class:`Decision`: the items
to take now (``take``: slot -> count, ``None`` meaning all), and/or a time to be asked again
(``wake_at``, monotonic seconds) so that time-based policies fire without new data.

>>> immediate().describe()["type"]
'immediate'
>>> batch_size(3).decide({"input": 7}, now=0.0, last=None, since=0.0).take
{'input': 3}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ActivationPolicy",
    "Decision",
    "all_slots_ready",
    "batch_size",
    "custom",
    "immediate",
    "policy_from_spec",
    "time_interval",
]


@dataclass(frozen=True)
class Decision:
    take: dict[str, int | None] | None = None
    wake_at: float | None = None


WAIT = Decision()


class ActivationPolicy:
    """Base class. Subclasses implement :meth:`decide` and set ``type``/``description``."""

    type: str = "custom"
    description: str = ""
    #: when a job would otherwise be idle, take whatever is left instead of leaving it queued
    flush_on_idle: bool = False
    #: fast path: activate whenever any slot has data, taking everything
    is_immediate: bool = False

    @property
    def config(self) -> dict[str, Any]:
        return {}

    def describe(self) -> dict[str, Any]:
        """``{type, config, description}`` as the API reports it."""
        return {"type": self.type, "config": self.config, "description": self.description}

    def decide(
        self, counts: Mapping[str, int], *, now: float, last: float | None, since: float | None
    ) -> Decision:
        raise NotImplementedError

    def flush(self, counts: Mapping[str, int]) -> Decision:
        """Called when the job is otherwise idle: take what is left, or wait (``WAIT``)."""
        if self.flush_on_idle and any(counts.values()):
            return Decision(take={s: None for s, c in counts.items() if c})
        return WAIT

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config.items())
        return f"{self.type}({args})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ActivationPolicy) and self.describe() == other.describe()

    def __hash__(self) -> int:
        return hash(self.type)


class _Immediate(ActivationPolicy):
    type = "immediate"
    description = "Activate immediately when any slot receives data"
    is_immediate = True

    def decide(
        self, counts: Mapping[str, int], *, now: float, last: float | None, since: float | None
    ) -> Decision:
        if any(counts.values()):
            return Decision(take={s: None for s, c in counts.items() if c})
        return WAIT


@dataclass(eq=False, repr=False)
class _BatchSize(ActivationPolicy):
    n: int
    timeout: float | None = None
    type = "batch_size"
    flush_on_idle = True

    def __post_init__(self) -> None:
        if int(self.n) < 1:
            raise ValueError(f"batch_size(n): n must be >= 1, got {self.n}")
        if self.timeout is not None and self.timeout <= 0:
            raise ValueError(f"batch_size timeout must be > 0 seconds, got {self.timeout}")

    @property
    def config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {"batch_size": self.n}
        if self.timeout is not None:
            cfg["timeout"] = self.timeout
        return cfg

    @property
    def description(self) -> str:  # type: ignore[override]
        text = f"Activate when a slot holds {self.n} items, taking {self.n}"
        if self.timeout is not None:
            text += f"; after {self.timeout:g} s take whatever is waiting"
        return text

    def decide(
        self, counts: Mapping[str, int], *, now: float, last: float | None, since: float | None
    ) -> Decision:
        full: dict[str, int | None] = {s: self.n for s, c in counts.items() if c >= self.n}
        if full:
            return Decision(take=full)
        if self.timeout is not None and any(counts.values()) and since is not None:
            if now - since >= self.timeout:
                return Decision(take={s: None for s, c in counts.items() if c})
            return Decision(wake_at=since + self.timeout)
        return WAIT


class _AllSlotsReady(ActivationPolicy):
    type = "all_slots_ready"
    description = "Activate when every slot has at least one item, taking one item from each"

    def decide(
        self, counts: Mapping[str, int], *, now: float, last: float | None, since: float | None
    ) -> Decision:
        if counts and all(counts.values()):
            return Decision(take={s: 1 for s in counts})
        return WAIT


@dataclass(eq=False, repr=False)
class _TimeInterval(ActivationPolicy):
    seconds: float
    type = "time_interval"

    def __post_init__(self) -> None:
        if self.seconds <= 0:
            raise ValueError(f"time_interval(seconds): seconds must be > 0, got {self.seconds}")

    @property
    def config(self) -> dict[str, Any]:
        return {"min_interval": self.seconds}

    @property
    def description(self) -> str:  # type: ignore[override]
        return f"Activate at most once every {self.seconds:g} s, taking everything waiting"

    def decide(
        self, counts: Mapping[str, int], *, now: float, last: float | None, since: float | None
    ) -> Decision:
        if not any(counts.values()):
            return WAIT
        if last is None or now - last >= self.seconds:
            return Decision(take={s: None for s, c in counts.items() if c})
        return Decision(wake_at=last + self.seconds)


@dataclass(eq=False, repr=False)
class _Custom(ActivationPolicy):
    check: Callable[[dict[str, int]], bool] = field(default=lambda counts: False)
    type = "custom"

    @property
    def config(self) -> dict[str, Any]:
        return {"check": getattr(self.check, "__name__", type(self.check).__name__)}

    @property
    def description(self) -> str:  # type: ignore[override]
        return f"Activate when {self.config['check']}(counts) is true, taking everything waiting"

    def decide(
        self, counts: Mapping[str, int], *, now: float, last: float | None, since: float | None
    ) -> Decision:
        if any(counts.values()) and self.check(dict(counts)):
            return Decision(take={s: None for s, c in counts.items() if c})
        return WAIT


_IMMEDIATE = _Immediate()
_ALL_SLOTS_READY = _AllSlotsReady()


def immediate() -> ActivationPolicy:
    """Run as soon as any slot has data, taking all new items (the default)."""
    return _IMMEDIATE


def batch_size(n: int, timeout: float | None = None) -> ActivationPolicy:
    """Run when a slot holds ``n`` items; with ``timeout``, also after that many seconds."""
    return _BatchSize(int(n), timeout)


def all_slots_ready() -> ActivationPolicy:
    """Run when every slot has an item, taking one from each (a join)."""
    return _ALL_SLOTS_READY


def time_interval(seconds: float) -> ActivationPolicy:
    """Run at most once every ``seconds``; a timer fires it even when no new data arrives."""
    return _TimeInterval(float(seconds))


def custom(check: Callable[[dict[str, int]], bool]) -> ActivationPolicy:
    """Run when ``check({slot: queued_count})`` returns true, taking everything."""
    if not callable(check):
        raise TypeError(f"custom(check) needs a callable, got {type(check).__name__}")
    return _Custom(check)


def policy_from_spec(spec: Any) -> ActivationPolicy:
    """Build a policy from a DSL value: ``"immediate"``, ``{"type": "batch_size", "config": {...}}``."""
    if isinstance(spec, ActivationPolicy):
        return spec
    if spec is None:
        return immediate()
    if isinstance(spec, str):
        spec = {"type": spec}
    if not isinstance(spec, Mapping) or "type" not in spec:
        raise ValueError(f"activation policy must be a name or a mapping with 'type', got {spec!r}")
    kind = spec["type"]
    cfg = dict(spec.get("config") or {})
    if kind == "immediate":
        return immediate()
    if kind == "all_slots_ready":
        return all_slots_ready()
    if kind == "batch_size":
        n = cfg.get("batch_size", cfg.get("min_batch_size", cfg.get("n")))
        if n is None:
            raise ValueError("batch_size policy needs config.batch_size")
        return batch_size(int(n), cfg.get("timeout"))
    if kind == "time_interval":
        sec = cfg.get("min_interval", cfg.get("seconds", cfg.get("interval")))
        if sec is None:
            raise ValueError("time_interval policy needs config.min_interval (seconds)")
        return time_interval(float(sec))
    raise ValueError(
        f"unknown activation policy {kind!r}; known: immediate, batch_size, all_slots_ready, "
        "time_interval (custom policies need a Python callable)"
    )
