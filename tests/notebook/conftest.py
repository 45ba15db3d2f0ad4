from __future__ import annotations

from typing import Any

import pytest


def _routine(rid: str, cls: str, slots: list[str], events: list[str]) -> dict[str, Any]:
    return {
        "routine_id": rid,
        "class_name": cls,
        "slots": slots,
        "events": events,
        "config": {"factor": 2},
        "activation_policy": {"type": "immediate", "config": {}, "description": "any input"},
    }


@pytest.fixture
def etl_flow() -> dict[str, Any]:
    return {
        "flow_id": "etl",
        "routines": {
            "source": _routine("source", "DataSource", ["trigger"], ["output"]),
            "double": _routine("double", "Doubler", ["input"], ["output"]),
            "sink": _routine("sink", "Sink", ["input"], []),
        },
        "connections": [
            {
                "connection_id": "conn_0",
                "source_routine": "source",
                "source_event": "output",
                "target_routine": "double",
                "target_slot": "input",
            },
            {
                "connection_id": "conn_1",
                "source_routine": "double",
                "source_event": "output",
                "target_routine": "sink",
                "target_slot": "input",
            },
        ],
    }


@pytest.fixture
def snapshot() -> dict[str, Any]:
    return {
        "seq": 1,
        "time": "2026-01-01T00:00:00+00:00",
        "worker": {
            "worker_id": "w-1",
            "flow_id": "etl",
            "status": "running",
            "jobs_processed": 0,
            "jobs_failed": 0,
            "active_jobs": 1,
        },
        "routines": {
            "source": {
                "status": "idle",
                "execution_count": 1,
                "error_count": 0,
                "avg_duration": 0.0004,
                "active": 0,
            },
            "double": {
                "status": "running",
                "execution_count": 5,
                "error_count": 0,
                "avg_duration": 0.0012,
                "active": 1,
            },
        },
        "queues": {
            "double": {
                "input": {
                    "unconsumed_count": 5,
                    "max_length": 1000,
                    "usage_percentage": 0.005,
                    "pressure_level": "low",
                }
            }
        },
        "connections": {"conn_0": {"count": 42}},
        "jobs": {
            "job-abc": {
                "job_id": "job-abc",
                "status": "running",
                "created_at": "2026-01-01T00:00:00+00:00",
                "elapsed": 1.5,
                "routine_counts": {"double": 3},
                "error": None,
            }
        },
        "breakpoints": [
            {
                "breakpoint_id": "bp-1",
                "type": "routine",
                "routine_id": "double",
                "slot_name": None,
                "event_name": None,
                "enabled": True,
                "hit_count": 0,
                "job_id": None,
            }
        ],
        "paused": [],
    }
