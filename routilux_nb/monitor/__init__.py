"""Monitoring and debugging: traces, metrics, queues, output capture, breakpoints, debug
sessions and the event bus. Builds on :mod:`routilux_nb.core` only; importing this package
makes every new :class:`~routilux_nb.core.runtime.Runtime` monitored."""

from __future__ import annotations

from routilux_nb.core.extensions import set_default_monitor_factory, set_otel_installer

from .breakpoints import BREAKPOINT_TYPES, Breakpoint, BreakpointManager
from .bus import EventBus, Subscription
from .collector import History, JobMonitor, Monitor, MonitorCollector
from .debug import DEBUG_ACTIONS, DebugSession
from .metrics import ErrorRecord, ExecutionMetrics, FlowStats, RoutineMetrics
from .output import JobOutput
from .snapshots import SnapshotStream
from .trace import EVENT_TYPES, ExecutionEvent, TraceBuffer, TraceRecord
from .types import Snapshot

set_default_monitor_factory(Monitor)


def _install_otel(runtime: object, otel: object) -> None:
    """``Runtime(otel=...)``: OpenTelemetry is imported only now (the ``otel`` extra)."""
    try:
        from .otel import install
    except ImportError as exc:
        raise ImportError(
            'OpenTelemetry export needs the otel extra: pip install "routilux_nb[otel]"'
        ) from exc
    install(runtime, otel)


set_otel_installer(_install_otel)

__all__ = [
    "BREAKPOINT_TYPES",
    "DEBUG_ACTIONS",
    "EVENT_TYPES",
    "Breakpoint",
    "BreakpointManager",
    "DebugSession",
    "ErrorRecord",
    "EventBus",
    "ExecutionEvent",
    "ExecutionMetrics",
    "FlowStats",
    "History",
    "JobMonitor",
    "JobOutput",
    "Monitor",
    "MonitorCollector",
    "RoutineMetrics",
    "Snapshot",
    "SnapshotStream",
    "Subscription",
    "TraceBuffer",
    "TraceRecord",
]
