"""The flow catalogue side of :class:`~routilux_nb.core.runtime.Runtime`: register, look up,
version and forget flows (the state lives in :class:`~routilux_nb.core._flows.FlowCatalog`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .flow import Flow

if TYPE_CHECKING:
    from ._flows import FlowCatalog
    from .versions import FlowVersions
    from .worker import Worker

__all__ = ["RuntimeFlows"]


class RuntimeFlows:
    """Flow methods of the runtime (a mixin: the runtime owns ``_catalog`` and ``workers``)."""

    _catalog: FlowCatalog
    workers: dict[str, Worker]

    @property
    def flows(self) -> dict[str, Flow]:
        """The registered flows by id (``GET /flows`` lists these)."""
        return self._catalog.flows

    @property
    def flow_versions(self) -> FlowVersions:
        """Every version of every flow (``flow_versions.list(flow_id)``, newest first)."""
        return self._catalog.versions

    @property
    def unavailable_flows(self) -> dict[str, str]:
        """Flows of a previous process (in the store) that could not be rebuilt here, with why."""
        return self._catalog.unavailable

    def register_flow(self, flow: Flow, *, replace: bool = False) -> Flow:
        """Make a flow known by its ``flow_id``; a changed definition under a known id is a new
        version (see :mod:`routilux_nb.core.versions`)."""

        def in_use(old: Flow) -> bool:
            return any(w.flow is old and w.status != "stopped" for w in list(self.workers.values()))

        return self._catalog.register(flow, replace=replace, in_use=in_use)

    def version_of(self, flow: Flow) -> int | None:
        """The version number ``flow`` (a registered or pinned flow object) runs as."""
        return self._catalog.version_of(flow)

    def flow_version(self, flow_id: str, version: int) -> Flow:
        """The flow as it was at ``version`` (see :meth:`FlowCatalog.at_version`)."""
        return self._catalog.at_version(flow_id, version)

    def get_flow(self, flow_id: str) -> Flow:
        return self._catalog.get(flow_id)

    def remove_flow(self, flow_id: str) -> None:
        """Forget a flow; its workers are stopped."""
        flow = self.get_flow(flow_id)
        for w in list(self.workers.values()):
            if w.flow is flow:
                w.stop()
        self._catalog.forget(flow_id)

    def _flow(self, flow: Flow | str) -> Flow:
        if isinstance(flow, Flow):
            if self._catalog.needs_registering(flow):
                self.register_flow(flow, replace=True)
            return flow
        return self.get_flow(flow)
