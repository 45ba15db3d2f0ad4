"""Per-job capture of ``print()`` inside routines.

``sys.stdout``/``sys.stderr`` are wrapped once by a router that sends text written while an
activation runs on the current thread to that job's :class:`JobOutput`, and everything else
to the stream it wrapped. Output never mixes between jobs and never lands in whatever
notebook cell happens to be running.
"""

from __future__ import annotations

import io
import sys
import threading
from typing import Any

from routilux_nb.core.context import current_activation

__all__ = ["JobOutput", "install_output_router"]


class JobOutput:
    """Bounded text buffer with an incremental read cursor."""

    __slots__ = ("_chunks", "_cursor", "_lock", "_size", "dropped", "limit")

    def __init__(self, limit: int = 1_000_000) -> None:
        self._chunks: list[str] = []
        self._size = 0
        self._cursor = 0
        self._lock = threading.Lock()
        self.limit = limit
        self.dropped = 0

    def write(self, text: str) -> None:
        with self._lock:
            self._chunks.append(text)
            self._size += len(text)
            while self._size > self.limit and len(self._chunks) > 1:
                old = self._chunks.pop(0)
                self._size -= len(old)
                self.dropped += len(old)
                self._cursor = max(0, self._cursor - len(old))

    def read(self, incremental: bool = False) -> str:
        """All kept text, or with ``incremental`` only what was written since the last such read."""
        with self._lock:
            text = "".join(self._chunks)
            if incremental:
                out = text[self._cursor :]
                self._cursor = len(text)
                return out
            return text

    @property
    def truncated(self) -> bool:
        return self.dropped > 0

    def __repr__(self) -> str:
        return f"JobOutput(chars={self._size}, truncated={self.truncated})"


class _Router(io.TextIOBase):
    def __init__(self, wrapped: Any) -> None:
        self._wrapped = wrapped

    def write(self, text: str) -> int:
        act = current_activation()
        if act is not None:
            mon = act.job.monitor
            if mon is not None:
                mon.output.write(text)
                return len(text)
        written: int = self._wrapped.write(text)
        return written

    def flush(self) -> None:
        if current_activation() is None:
            self._wrapped.flush()

    def writable(self) -> bool:
        return True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wrapped, name)


_install_lock = threading.Lock()


def install_output_router() -> None:
    """Wrap ``sys.stdout``/``sys.stderr`` (idempotent; re-wraps streams replaced since)."""
    if isinstance(sys.stdout, _Router) and isinstance(sys.stderr, _Router):
        return
    with _install_lock:
        if not isinstance(sys.stdout, _Router) and sys.stdout is not None:
            sys.stdout = _Router(sys.stdout)
        if not isinstance(sys.stderr, _Router) and sys.stderr is not None:
            sys.stderr = _Router(sys.stderr)
