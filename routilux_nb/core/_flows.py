"""The flows a runtime knows, by id, with every version each has had.

A :class:`FlowCatalog` owns the registered flow objects, their :class:`~.versions.FlowVersions`
and the flow objects built for older versions (``submit(..., version=N)``), which run on
workers of their own without replacing the registered flow.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

from .errors import StateError
from .flow import Flow
from .versions import FlowVersions

__all__ = ["FlowCatalog"]


class FlowCatalog:
    """Flows by id and their versions (see the module docstring)."""

    def __init__(self, store: Any = None) -> None:
        self.lock = threading.RLock()
        #: the registered (current) flow of each id
        self.flows: dict[str, Flow] = {}
        #: every version of every flow (kept in the store when it keeps versions)
        self.versions = FlowVersions(store)
        #: flows of a previous process that could not be rebuilt here, with the reason
        self.unavailable: dict[str, str] = {}
        self._numbers: weakref.WeakKeyDictionary[Flow, int] = weakref.WeakKeyDictionary()
        self._pinned: weakref.WeakKeyDictionary[Flow, int] = weakref.WeakKeyDictionary()
        self._by_version: dict[tuple[str, int], Flow] = {}

    def register(self, flow: Flow, *, replace: bool, in_use: Callable[[Flow], bool]) -> Flow:
        """Make ``flow`` the current flow of its id; a changed definition is a new version."""
        with self.lock:
            old = self.flows.get(flow.flow_id)
            if old is not None and old is not flow and not replace and in_use(old):
                raise StateError(
                    f"flow {flow.flow_id!r} is already registered and has running workers; "
                    "stop them or pass replace=True"
                )
            self.flows[flow.flow_id] = flow
        version = self.versions.record(flow)
        with self.lock:
            self._by_version[(flow.flow_id, version.version)] = flow
            self._numbers[flow] = version.version
        return flow

    def restore(self) -> None:
        """Register the latest version of each flow the store knows (rebuilt from its DSL)."""
        for flow_id in self.versions.flow_ids():
            latest = self.versions.latest(flow_id)
            if latest is None or flow_id in self.flows:
                continue
            try:
                flow = Flow.from_dict(latest.definition)
            except Exception as exc:  # e.g. a function routine not defined in this process
                self.unavailable[flow_id] = f"{type(exc).__name__}: {exc}"
                continue
            with self.lock:
                self.flows[flow_id] = flow
                self._by_version[(flow_id, latest.version)] = flow
                self._numbers[flow] = latest.version

    def get(self, flow_id: str) -> Flow:
        try:
            return self.flows[flow_id]
        except KeyError:
            raise KeyError(
                f"no flow {flow_id!r}; known flows: {sorted(self.flows) or 'none'}"
            ) from None

    def forget(self, flow_id: str) -> None:
        with self.lock:
            self.flows.pop(flow_id, None)

    def version_of(self, flow: Flow) -> int | None:
        """The version number ``flow`` (a registered or pinned flow object) runs as."""
        return self._numbers.get(flow)

    def at_version(self, flow_id: str, version: int) -> Flow:
        """The flow as it was at ``version`` (rebuilt from its DSL when it is not the current one).

        Raises ``KeyError`` for an unknown version and :class:`DSLError` when its function
        routines are not registered here.
        """
        with self.lock:
            flow = self._by_version.get((flow_id, version))
        if flow is None:
            built = Flow.from_dict(self.versions.get(flow_id, version).definition)
            with self.lock:
                flow = self._by_version.setdefault((flow_id, version), built)
        with self.lock:
            self._numbers[flow] = version
            if self.flows.get(flow_id) is not flow:
                self._pinned[flow] = version
        return flow

    def needs_registering(self, flow: Flow) -> bool:
        """True for a flow object that is neither the registered one nor a pinned older version."""
        return self.flows.get(flow.flow_id) is not flow and flow not in self._pinned
