"""Timestamps: stored as epoch floats on hot paths, shown as ISO 8601 with a timezone."""

from __future__ import annotations

import time
from datetime import datetime, timezone

__all__ = ["iso", "now", "to_datetime"]

now = time.time


def to_datetime(ts: float | None) -> datetime | None:
    """Epoch seconds to an aware UTC datetime (``None`` stays ``None``)."""
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc)


def iso(ts: float | None) -> str | None:
    """Epoch seconds to ISO 8601 in UTC, e.g. ``2025-01-15T10:00:00.123456+00:00``."""
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc).isoformat()
