"""Live anywidget views of flows, one widget per view.

Needs the ``notebook`` extra (anywidget and ipywidgets).
"""

from __future__ import annotations

from importlib.util import find_spec

_MISSING = [name for name in ("anywidget", "ipywidgets") if find_spec(name) is None]
if _MISSING:
    raise ImportError(
        f"routilux_nb notebook widgets need {' and '.join(_MISSING)}: "
        'pip install "routilux_nb[notebook]"'
    )

from .dashboard import Dashboard  # noqa: E402
from .debugger import Debugger  # noqa: E402
from .flow_graph import FlowGraph  # noqa: E402
from .job_progress import JobProgress  # noqa: E402
from .map_progress import MapProgress  # noqa: E402
from .queue_gauges import QueueGauges  # noqa: E402
from .trace_table import TraceTable  # noqa: E402

__all__ = [
    "Dashboard",
    "Debugger",
    "FlowGraph",
    "JobProgress",
    "MapProgress",
    "QueueGauges",
    "TraceTable",
]
