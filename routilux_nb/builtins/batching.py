"""Batching: group the payloads of a job (:class:`Batcher`, :class:`Aggregator`) or keep
only the last of a burst (:class:`Debouncer`). Grouping is done by activation policies, so
timers fire without new data and nothing is kept on the routine (it serves every job)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import fmean
from typing import Any

from routilux_nb.core import policies
from routilux_nb.core.context import ActivationContext
from routilux_nb.core.policies import WAIT, ActivationPolicy, Decision
from routilux_nb.core.registry import registry

from ._config import ConfiguredRoutine, Payload, positive_number

__all__ = ["Aggregator", "Batcher", "Debouncer", "debounce", "until_idle"]


@dataclass(eq=False, repr=False)
class _UntilIdle(ActivationPolicy):
    expected: int | None = None
    # "custom": derived from the routine's config, so the DSL does not write it out
    type = "custom"
    flush_on_idle = True

    @property
    def config(self) -> dict[str, Any]:
        return {} if self.expected is None else {"expected": self.expected}

    @property
    def description(self) -> str:  # type: ignore[override]
        if self.expected is None:
            return "Activate once the job has nothing else to do, taking everything waiting"
        return (
            f"Activate when {self.expected} items wait, taking {self.expected}; "
            "once the job has nothing else to do, take the rest"
        )

    def decide(
        self, counts: Mapping[str, int], *, now: float, last: float | None, since: float | None
    ) -> Decision:
        n = self.expected
        if n is not None:
            full: dict[str, int | None] = {s: n for s, c in counts.items() if c >= n}
            if full:
                return Decision(take=full)
        return WAIT


@dataclass(eq=False, repr=False)
class _Debounce(ActivationPolicy):
    seconds: float
    type = "custom"

    @property
    def config(self) -> dict[str, Any]:
        return {"interval": self.seconds}

    @property
    def description(self) -> str:  # type: ignore[override]
        return (
            f"Activate {self.seconds:g} s after the first item of a burst (and at most once "
            f"every {self.seconds:g} s), taking the whole burst"
        )

    def decide(
        self, counts: Mapping[str, int], *, now: float, last: float | None, since: float | None
    ) -> Decision:
        if not any(counts.values()) or since is None:
            return WAIT
        due = since + self.seconds
        if last is not None:
            due = max(due, last + self.seconds)
        if now >= due:
            return Decision(take={s: None for s, c in counts.items() if c})
        return Decision(wake_at=due)


def until_idle(expected: int | None = None) -> ActivationPolicy:
    """Take everything once the job is otherwise idle (or every ``expected`` items)."""
    return _UntilIdle(expected)


def debounce(seconds: float) -> ActivationPolicy:
    """Wait ``seconds`` after the first queued item, then take all (one burst)."""
    if seconds <= 0:
        raise ValueError(f"debounce(seconds): seconds must be > 0, got {seconds}")
    return _Debounce(float(seconds))


@registry.register("batcher", "Batcher")
class Batcher(ConfiguredRoutine):
    """Group payloads into batches: ``{"items": [...], "count": n}`` on ``output``.

    Config:
        ``batch_size`` (int, default 10): items per batch.
        ``timeout`` (seconds, default ``None``; the original's ``batch_timeout`` too): when set, a partial batch is emitted that
        long after its first item arrived, even if no more data comes (for streams that
        never go idle). Whatever is left when the job has nothing else to do is always
        emitted, so a finite job needs no timeout and never waits for one.

    Uses the activation policy ``policies.batch_size(batch_size, timeout)``.

    >>> Batcher(batch_size=3, timeout=0.5).activation_policy.config
    {'batch_size': 3, 'timeout': 0.5}
    >>> Batcher().activation_policy.config
    {'batch_size': 10}
    """

    config_keys = frozenset({"batch_size", "batch_timeout", "timeout"})
    legacy_keys = frozenset({"emit_empty", "max_batch_size"})

    slots = ["input"]
    events = ["output"]
    policy = policies.batch_size(10)

    def setup(self) -> None:
        size = positive_number(
            "Batcher", "batch_size", self.config.get("batch_size", 10), integer=True
        )
        timeout = positive_number(
            "Batcher",
            "timeout",
            self.config.get("timeout", self.config.get("batch_timeout")),
            allow_none=True,
        )
        self._derive_policy(policies.batch_size(size, timeout))

    def logic(self, input: list[Payload], ctx: ActivationContext) -> None:
        if input:
            ctx.emit("output", items=[dict(p) for p in input], count=len(input))


@registry.register("aggregator", "Aggregator")
class Aggregator(ConfiguredRoutine):
    """Collect a job's payloads and emit one aggregate once its upstream is done.

    Emits ``{"items": [...], "count": n}`` on ``output``, plus ``sum``, ``min``, ``max`` and
    ``mean`` of ``field`` when configured (over the items having it; ``min``/``max``/
    ``mean`` are ``None`` when none has).

    Config:
        ``field`` (str, optional): numeric field to summarise.
        ``expected`` (int, optional): emit an aggregate as soon as that many items wait
        (the rest, if any, when the job has nothing else to do).

    >>> Aggregator(field="v").aggregate([{"v": 1}, {"v": 3}])["mean"]
    2.0
    """

    config_keys = frozenset({"expected", "field"})
    legacy_keys = frozenset(
        {"max_pending_items", "merge_strategy", "mode", "slots", "threshold", "timeout"}
    )

    slots = ["input"]
    events = ["output"]
    policy = until_idle()

    field: str | None

    def setup(self) -> None:
        field = self.config.get("field")
        if field is not None and not isinstance(field, str):
            raise ValueError(
                f"Aggregator: config 'field' must be a field name (string), got {field!r}"
            )
        expected = positive_number(
            "Aggregator", "expected", self.config.get("expected"), integer=True, allow_none=True
        )
        self.field = field
        self._derive_policy(until_idle(expected))

    def aggregate(self, items: Sequence[Mapping[str, Any]]) -> Payload:
        out: Payload = {"items": [dict(i) for i in items], "count": len(items)}
        if self.field is not None:
            values = [i[self.field] for i in items if self.field in i]
            bad = [v for v in values if isinstance(v, bool) or not isinstance(v, (int, float))]
            if bad:
                raise TypeError(
                    f"Aggregator: field {self.field!r} must hold numbers, got {bad[0]!r}"
                )
            out.update(
                sum=sum(values),
                min=min(values) if values else None,
                max=max(values) if values else None,
                mean=fmean(values) if values else None,
            )
        return out

    def logic(self, input: list[Payload], ctx: ActivationContext) -> None:
        if input:
            ctx.emit("output", self.aggregate(input))


@registry.register("debouncer", "Debouncer")
class Debouncer(ConfiguredRoutine):
    """Emit only the last payload of each burst on ``output``.

    A burst is what arrives within ``interval`` seconds of its first item; activations are
    also at least ``interval`` apart, so each later window is one burst as well.

    Config:
        ``interval`` (seconds, default 0.1; the original's ``wait`` too).

    >>> Debouncer(interval=0.5).activation_policy.config
    {'interval': 0.5}
    """

    config_keys = frozenset({"interval", "wait"})
    legacy_keys = frozenset({"leading", "max_wait"})

    slots = ["input"]
    events = ["output"]
    policy = debounce(0.1)

    def setup(self) -> None:
        interval = positive_number(
            "Debouncer", "interval", self.config.get("interval", self.config.get("wait", 0.1))
        )
        self._derive_policy(debounce(interval))

    def logic(self, input: list[Payload], ctx: ActivationContext) -> None:
        if input:
            ctx.emit("output", input[-1])
