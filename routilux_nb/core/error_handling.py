"""Error strategies: what happens to a job when a routine's logic raises.

=========  =================================================================================
strategy   effect, per failing activation
=========  =================================================================================
stop       the job fails with the error and its traceback (default)
continue   the error is recorded on the job and the routine; the job goes on
retry      the same activation (same items) runs again after ``retry_delay * backoff**n``
           seconds, scheduled on a timer (never slept in a worker thread); after
           ``max_retries`` failed retries the job fails
skip       the activation is abandoned and recorded as skipped; no error is counted
=========  =================================================================================

>>> ErrorHandler("retry", retry_delay=0.1, backoff=2.0).delay(2)
0.2
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["STRATEGIES", "ErrorHandler"]

STRATEGIES = ("stop", "continue", "retry", "skip")


@dataclass(frozen=True)
class ErrorHandler:
    strategy: str = "stop"
    max_retries: int = 3
    retry_delay: float = 0.1
    backoff: float = 2.0
    #: accepted from flows in the original format; every routine error is critical unless its
    #: strategy says otherwise, so it changes nothing
    is_critical: bool = False

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(
                f"unknown error strategy {self.strategy!r}; choose one of {', '.join(STRATEGIES)}"
            )
        if self.max_retries < 0 or self.retry_delay < 0 or self.backoff < 1:
            raise ValueError("retry needs max_retries >= 0, retry_delay >= 0 and backoff >= 1")

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        return round(self.retry_delay * self.backoff ** (attempt - 1), 6)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if not self.is_critical:
            d.pop("is_critical")
        return d

    @classmethod
    def from_spec(cls, spec: Any) -> ErrorHandler | None:
        """From a DSL value: ``"retry"`` or ``{"strategy": "retry", "max_retries": 2}``."""
        if spec is None or isinstance(spec, ErrorHandler):
            return spec
        if isinstance(spec, str):
            return cls(spec)
        if isinstance(spec, Mapping):
            known = {
                "strategy",
                "max_retries",
                "retry_delay",
                "backoff",
                "retry_backoff",
                "is_critical",
            }
            extra = set(spec) - known
            if extra:
                raise ValueError(
                    f"unknown error_handler keys {sorted(extra)}; known: {sorted(known)}"
                )
            fields = dict(spec)
            if "retry_backoff" in fields:  # the original format's name
                fields["backoff"] = fields.pop("retry_backoff")
            fields.setdefault("strategy", "stop")
            return cls(**fields)
        raise ValueError(f"error_handler must be a strategy name or a mapping, got {spec!r}")
