"""Flow descriptions shared by the notebook tests."""

from __future__ import annotations

import random
from typing import Any


def random_flow(n: int, p: float = 0.02, seed: int = 1, back_edges: int = 0) -> dict[str, Any]:
    """A random DAG of ``n`` routines (edges i -> j for i < j), plus optional back edges."""
    rng = random.Random(seed)
    routines = {
        f"r{i}": {
            "routine_id": f"r{i}",
            "class_name": "Step",
            "slots": ["input", "trigger"][: rng.randint(1, 2)],
            "events": ["output"],
        }
        for i in range(n)
    }
    conns = [(i, j) for i in range(n) for j in range(i + 1, n) if rng.random() < p] + [
        (j, i) for i, j in (sorted(rng.sample(range(n), 2)) for _ in range(back_edges))
    ]
    connections = [
        {
            "connection_id": f"c{k}",
            "source_routine": f"r{a}",
            "source_event": "output",
            "target_routine": f"r{b}",
            "target_slot": "input",
        }
        for k, (a, b) in enumerate(conns)
    ]
    return {"flow_id": "random", "routines": routines, "connections": connections}


def chain_flow(n: int, seed: int = 7) -> dict[str, Any]:
    """``n`` routines ``r0..``; each one after the first is fed by one of the 12 before it."""
    rng = random.Random(seed)
    routines = {
        f"r{i}": {
            "routine_id": f"r{i}",
            "class_name": "Step",
            "slots": ["input"],
            "events": ["output"],
        }
        for i in range(n)
    }
    connections = [
        {
            "connection_id": f"c{i}",
            "source_routine": f"r{rng.randint(max(0, i - 12), i - 1)}",
            "source_event": "output",
            "target_routine": f"r{i}",
            "target_slot": "input",
        }
        for i in range(1, n)
    ]
    return {"flow_id": "chain", "routines": routines, "connections": connections}
