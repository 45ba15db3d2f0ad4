"""Flow validation: reference errors, duplicate connections, cycles and unreachable routines.

>>> from routilux_nb import Flow
>>> validate_flow(Flow("empty")).warnings
["flow 'empty' has no routines"]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import FlowError

if TYPE_CHECKING:
    from .connection import Connection
    from .flow import Flow

__all__ = ["ValidationReport", "validate_flow"]


@dataclass
class ValidationReport:
    """Result of :meth:`Flow.validate`: ``errors`` make a flow unrunnable, ``warnings`` do not."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def issues(self) -> list[str]:
        return self.errors + self.warnings

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "issues": self.issues,
            "errors": self.errors,
            "warnings": self.warnings,
        }

    def __repr__(self) -> str:
        return (
            f"ValidationReport(valid={self.valid}, errors={self.errors}, warnings={self.warnings})"
        )


def validate_flow(flow: Flow) -> ValidationReport:
    """Check references (errors), duplicates, cycles and unreachable routines (warnings)."""
    report = ValidationReport()
    seen: set[Connection] = set()
    for i, c in enumerate(flow.connections):
        try:
            flow.check_connection(c)
        except FlowError as exc:
            report.errors.append(f"connection conn_{i} ({c}): {exc}")
        if c in seen:
            report.warnings.append(f"connection conn_{i} ({c}) duplicates an earlier one")
        seen.add(c)
    if not flow.routines:
        report.warnings.append(f"flow {flow.flow_id!r} has no routines")
        return report
    import networkx as nx

    graph = flow.to_networkx()
    position = {rid: i for i, rid in enumerate(flow.routines)}
    cycles = []
    for cycle in nx.simple_cycles(graph):
        first = min(range(len(cycle)), key=lambda i: position[cycle[i]])
        cycles.append(cycle[first:] + cycle[:first])  # start at the earliest-added routine
        if len(cycles) >= 50:
            break
    for cycle in sorted(cycles, key=lambda c: [position[r] for r in c]):
        report.warnings.append("cycle: " + " -> ".join([*cycle, cycle[0]]))
    entries = flow.entry_routines()
    reachable: set[str] = set(entries)
    for rid in entries:
        reachable |= nx.descendants(graph, rid)
    for rid in flow.routines:
        if rid not in reachable:
            report.warnings.append(
                f"routine {rid!r} is unreachable: only a cycle feeds it and no entry routine leads there"
            )
    return report
