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
