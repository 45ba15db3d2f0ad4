"""Persistence of finished jobs: in memory (:class:`MemoryJobStore`) or SQLite (:class:`SQLiteJobStore`).

A :class:`~routilux_nb.core.runtime.Runtime` given ``store=`` hands it the finished jobs it
evicts from memory and asks it for jobs it no longer holds:

>>> from routilux_nb.core import Runtime
>>> rt = Runtime(max_finished_jobs=1000, store=SQLiteJobStore(":memory:"))
>>> rt.shutdown(); rt.store.close()
"""

from __future__ import annotations

from .base import JobStore, StoredJob
from .memory import MemoryJobStore
from .sqlite import SQLiteJobStore

__all__ = ["JobStore", "MemoryJobStore", "SQLiteJobStore", "StoredJob"]
