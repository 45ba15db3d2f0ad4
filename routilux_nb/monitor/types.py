"""The typed shapes the monitor hands to views: what a snapshot stream delivers.

``Monitor.snapshot(worker, job=...)`` returns a :class:`Snapshot`; ``Monitor.stream(callback,
...)`` calls ``callback`` with one at most ``max_rate_hz`` times a second. Widgets and the
WebSocket ``snapshot`` mode read these keys and nothing else.
"""

from __future__ import annotations

from typing import TypeAlias, TypedDict

__all__ = [
    "BreakpointView",
    "ConnectionView",
    "JobView",
    "PausedView",
    "QueueView",
    "RoutineView",
    "Snapshot",
    "SnapshotPart",
    "SnapshotUpdate",
    "WorkerView",
]


class WorkerView(TypedDict):
    worker_id: str
    flow_id: str
    status: str
    jobs_processed: int
    jobs_failed: int
    active_jobs: int


class RoutineView(TypedDict):
    #: ``idle | running | paused | error``
    status: str
    execution_count: int
    error_count: int
    #: mean wall seconds per activation
    avg_duration: float
    #: activations running now
    active: int


class QueueView(TypedDict):
    unconsumed_count: int
    max_length: int
    usage_percentage: float
    #: ``low | medium | high | critical``
    pressure_level: str


class ConnectionView(TypedDict):
    #: items that travelled the connection
    count: int


class JobView(TypedDict):
    job_id: str
    status: str
    created_at: str | None
    elapsed: float
    routine_counts: dict[str, int]
    error: str | None


class BreakpointView(TypedDict):
    breakpoint_id: str
    type: str
    routine_id: str | None
    slot_name: str | None
    event_name: str | None
    enabled: bool
    hit_count: int
    job_id: str | None


class PausedView(TypedDict):
    job_id: str
    routine_id: str
    kind: str
    slot_name: str | None
    event_name: str | None


class Snapshot(TypedDict):
    """The state a live view shows: flow graph colours, gauges, jobs, breakpoints."""

    worker: WorkerView
    #: routine id -> its state
    routines: dict[str, RoutineView]
    #: routine id -> slot name -> its queue
    queues: dict[str, dict[str, QueueView]]
    #: ``conn_<index>`` (position in ``flow.connections``) -> its count
    connections: dict[str, ConnectionView]
    #: job id -> its state (the one job of a job view, else the worker's recent jobs)
    jobs: dict[str, JobView]
    breakpoints: list[BreakpointView]
    paused: list[PausedView]


class SnapshotPart(TypedDict, total=False):
    """A :class:`Snapshot` in which any key may be left out: what a view's ``apply_snapshot``
    takes (a key left out leaves what the view draws from it as it is)."""

    worker: WorkerView
    routines: dict[str, RoutineView]
    queues: dict[str, dict[str, QueueView]]
    connections: dict[str, ConnectionView]
    jobs: dict[str, JobView]
    breakpoints: list[BreakpointView]
    paused: list[PausedView]


#: what a view's ``apply_snapshot`` takes: a whole :class:`Snapshot` or a part of one
SnapshotUpdate: TypeAlias = Snapshot | SnapshotPart
