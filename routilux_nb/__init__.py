"""routilux_nb: event-driven data flows that run, debug and monitor inside Jupyter.

>>> import routilux_nb as rx
>>> flow = rx.Flow("hello")
>>> @flow.routine(slots=["input"], events=[])
... def greet(input, ctx):
...     ctx.data["greeting"] = f"hello {input[0]['name']}"
>>> rx.runtime().submit(flow, data={"name": "notebook"}).wait().data["greeting"]
'hello notebook'
"""

from __future__ import annotations

from . import builtins as builtins  # registers the built-in routines
from . import monitor as monitor  # every runtime is monitored
from . import store as store  # Runtime(store="jobs.db") opens SQLite files
from .core import (
    BackpressureTimeout,
    DSLError,
    ErrorHandler,
    Flow,
    FlowError,
    FunctionRoutine,
    JobContext,
    JobStateError,
    JobTimeoutError,
    JobWaitTimeout,
    RegistryError,
    RoutiluxError,
    Routine,
    Runtime,
    Slot,
    StateError,
    Worker,
    WorkerNotRunningError,
    load_flow,
    policies,
    registry,
)
from .core.expressions import ExpressionError
from .core.runtime import default_runtime as runtime

__version__ = "0.1.0"

__all__ = [
    "BackpressureTimeout",
    "DSLError",
    "ErrorHandler",
    "ExpressionError",
    "Flow",
    "FlowError",
    "FunctionRoutine",
    "JobContext",
    "JobStateError",
    "JobTimeoutError",
    "JobWaitTimeout",
    "RegistryError",
    "RoutiluxError",
    "Routine",
    "Runtime",
    "Slot",
    "StateError",
    "Worker",
    "WorkerNotRunningError",
    "__version__",
    "dashboard",
    "debugger",
    "flow_graph",
    "job_progress",
    "load_flow",
    "policies",
    "queue_gauges",
    "registry",
    "runtime",
    "trace_table",
]

_LIVE_VIEWS = frozenset({"dashboard", "debugger", "flow_graph", "job_progress", "queue_gauges", "trace_table"})


def __getattr__(name: str) -> object:
    """Load the live notebook views (``rx.dashboard`` ...) on first use; they need the notebook extra."""
    if name in _LIVE_VIEWS:
        from .notebook import live

        value = getattr(live, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
