"""Resilience: retry a flaky function (:class:`RetryHandler`) without blocking a thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from routilux_nb.core.context import ActivationContext
from routilux_nb.core.error_handling import ErrorHandler
from routilux_nb.core.registry import registry

from ._config import ConfiguredRoutine, Payload, as_payload, optional_callable

__all__ = ["RetryHandler"]


@registry.register("retry_handler", "RetryHandler")
class RetryHandler(ConfiguredRoutine):
    """Call ``fn`` on each payload and emit the result on ``output``; retry when it raises.

    A failing activation runs again (same payloads) after ``retry_delay * backoff**(n-1)``
    seconds, scheduled by the engine's timer; after ``max_retries`` failed retries the job
    fails with the error. Without ``fn`` payloads pass through.

    Config:
        ``fn``: a Python callable ``item -> item`` (a non-dict result is emitted as
        ``{"value": result}``; ``None`` emits nothing).
        ``max_retries`` (int, default 3), ``retry_delay`` (seconds, default 0.1; the original's
        ``base_delay`` too),
        ``backoff`` (multiplier >= 1, default 2.0).

    >>> RetryHandler(fn=lambda item: item, max_retries=2).error_handler.max_retries
    2
    """

    config_keys = frozenset({"backoff", "base_delay", "fn", "max_retries", "retry_delay"})
    legacy_keys = frozenset(
        {
            "max_attempts",
            "max_delay",
            "max_errors_kept",
            "max_items",
            "on_exhausted",
            "on_retry",
            "retryable_exceptions",
        }
    )

    slots = ["input"]
    events = ["output"]

    fn: Callable[[Payload], Any] | None

    def setup(self) -> None:
        cfg = self.config
        self.fn = optional_callable("RetryHandler", "fn", cfg.get("fn"))
        max_retries = cfg.get("max_retries", 3)
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(
                f"RetryHandler: config 'max_retries' must be an integer >= 0, got {max_retries!r}"
            )
        delay, backoff = cfg.get("retry_delay", cfg.get("base_delay", 0.1)), cfg.get("backoff", 2.0)
        for key, value, low in (("retry_delay", delay, 0), ("backoff", backoff, 1)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low:
                raise ValueError(
                    f"RetryHandler: config {key!r} must be a number >= {low}, got {value!r}"
                )
        self._derive_error_handler(
            ErrorHandler(
                "retry", max_retries=max_retries, retry_delay=float(delay), backoff=float(backoff)
            )
        )

    def logic(self, input: list[Payload], ctx: ActivationContext) -> None:
        fn = self.fn
        if fn is None:
            for item in input:
                ctx.emit("output", item)
            return
        # compute every result first: a retry re-runs the whole activation, so nothing
        # may have been emitted by an attempt that fails
        results = [as_payload(fn(dict(item))) for item in input]
        for out in results:
            if out is not None:
                ctx.emit("output", out)
