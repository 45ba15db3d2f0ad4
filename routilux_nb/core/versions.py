"""Flow versions: registering a changed flow under a known id makes a new version.

A version is the flow's DSL definition (``flow.to_dict()``) and a digest of it together with
the code of its function routines, so redefining a ``@flow.routine`` function is a change
too; registering an unchanged flow again (a re-run notebook cell) is not. Every job records
the version it ran (``job.flow_version``, also in ``job.to_dict()``).

>>> from routilux_nb.core import Flow
>>> versions = FlowVersions()
>>> versions.record(Flow("etl")).version, versions.record(Flow("etl")).version
(1, 1)
"""

from __future__ import annotations

import builtins
import hashlib
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import yaml

from .clock import iso
from .jsonsafe import to_jsonable

__all__ = ["FlowVersion", "FlowVersions"]


@dataclass(frozen=True)
class FlowVersion:
    """One version of a flow: its number, when it was first seen, its DSL definition."""

    flow_id: str
    version: int
    created_at: float
    digest: str
    definition: dict[str, Any]

    @property
    def dsl(self) -> str:
        """The definition as YAML (what ``load_flow`` reads back)."""
        return str(yaml.safe_dump(self.definition, sort_keys=False))

    def to_dict(self) -> dict[str, Any]:
        """``GET /flows/{id}/versions`` item: ``flow_id, version, created_at, digest, dsl, definition``."""
        return {
            "flow_id": self.flow_id,
            "version": self.version,
            "created_at": iso(self.created_at),
            "digest": self.digest,
            "dsl": self.dsl,
            "definition": self.definition,
        }


def _code_fingerprint(flow: Any) -> list[str]:
    """What the DSL does not show: the code of each function routine."""
    out = []
    for rid, routine in sorted(flow.routines.items()):
        code = getattr(getattr(routine, "fn", None), "__code__", None)
        if code is not None:
            out.append(f"{rid}:{code.co_code.hex()}:{code.co_consts!r}:{code.co_names!r}")
    return out


def digest_of(flow: Any, definition: dict[str, Any]) -> str:
    text = json.dumps(to_jsonable([definition, _code_fingerprint(flow)]), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class FlowVersions:
    """Every version of every flow a runtime registered (and, with a store, earlier processes)."""

    def __init__(self, store: Any = None) -> None:
        self._lock = threading.Lock()
        self._store = store if hasattr(store, "save_flow_version") else None
        self._versions: dict[str, list[FlowVersion]] = {}
        if self._store is not None:
            for v in self._store.load_flow_versions():
                self._versions.setdefault(v.flow_id, []).append(v)
            for items in self._versions.values():
                items.sort(key=lambda v: v.version)

    def record(self, flow: Any) -> FlowVersion:
        """The version ``flow`` is: the latest if unchanged, else a new one (saved to the store)."""
        definition = flow.to_dict()
        digest = digest_of(flow, definition)
        with self._lock:
            known = self._versions.setdefault(flow.flow_id, [])
            if known and known[-1].digest == digest:
                return known[-1]
            version = FlowVersion(
                flow.flow_id,
                len(known) + 1 if not known else known[-1].version + 1,
                time.time(),
                digest,
                definition,
            )
            known.append(version)
        if self._store is not None:
            self._store.save_flow_version(version)
        return version

    def latest(self, flow_id: str) -> FlowVersion | None:
        with self._lock:
            known = self._versions.get(flow_id)
            return known[-1] if known else None

    def get(self, flow_id: str, version: int) -> FlowVersion:
        with self._lock:
            known = list(self._versions.get(flow_id, ()))
        for v in known:
            if v.version == version:
                return v
        numbers = [v.version for v in known]
        raise KeyError(
            f"flow {flow_id!r} has no version {version}; its versions: {numbers or 'none'}"
        )

    def list(self, flow_id: str) -> builtins.list[FlowVersion]:
        """The flow's versions, newest first."""
        with self._lock:
            return list(reversed(self._versions.get(flow_id, ())))

    def flow_ids(self) -> builtins.list[str]:
        with self._lock:
            return list(self._versions)
