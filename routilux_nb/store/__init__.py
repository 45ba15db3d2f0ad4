"""Persistence of finished jobs: in memory (:class:`MemoryJobStore`) or SQLite (:class:`SQLiteJobStore`).

A :class:`~routilux_nb.core.runtime.Runtime` given ``store=`` hands it the finished jobs it
evicts from memory and asks it for jobs it no longer holds:

>>> from routilux_nb.core import Runtime
>>> rt = Runtime(max_finished_jobs=1000, store=SQLiteJobStore(":memory:"))
>>> rt.shutdown(); rt.store.close()
"""

from __future__ import annotations

from typing import Any

from routilux_nb.core.extensions import set_artifact_store_factory, set_store_opener

from .artifacts import Artifact, ArtifactError, ArtifactStore
from .base import JobStore, StoredJob
from .memory import MemoryJobStore
from .sqlite import SQLiteJobStore
from .writer import JobWriter

__all__ = [
    "Artifact",
    "ArtifactError",
    "ArtifactStore",
    "JobStore",
    "JobWriter",
    "MemoryJobStore",
    "SQLiteJobStore",
    "StoredJob",
    "open_store",
]


def open_store(spec: str) -> Any:
    """The store a spec names: ``"memory"`` (in this process only), ``":memory:"`` (a private
    SQLite database) or the path of a SQLite file (created if missing)."""
    if spec == "memory":
        return MemoryJobStore()
    return SQLiteJobStore(spec)


def artifact_store_for(runtime: Any) -> ArtifactStore:
    """A runtime's artifact folder: ``<database>.artifacts`` beside a SQLite file, else temporary."""
    path = getattr(runtime.store, "path", None)
    if isinstance(path, str) and path != ":memory:":
        return ArtifactStore(path + ".artifacts")
    return ArtifactStore.temporary_store()


set_store_opener(open_store)
set_artifact_store_factory(artifact_store_for)
