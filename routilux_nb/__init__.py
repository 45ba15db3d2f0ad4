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

import importlib

from . import _server_hook as _server_hook  # Runtime.serve() finds the HTTP server through it
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
    StepLimits,
    Worker,
    WorkerNotRunningError,
    compare,
    load_flow,
    policies,
    registry,
)
from .core.default import default_runtime as runtime
from .core.display import set_bundle_renderer, set_html_renderer
from .core.expressions import ExpressionError


def _html_for(obj: object) -> str:
    """The HTML renderer of every repr: loads the static reprs (never a widget library) once."""
    from .notebook.reprs import html_for

    set_html_renderer(html_for)
    return html_for(obj)


set_html_renderer(_html_for)


def _live_bundle(obj: object) -> object:
    """The live view of an object that has one (a map run's progress bar) inside a kernel;
    ``None`` without the notebook extra: the frontend then shows the static reprs."""
    try:
        from .notebook.widgets.map_progress import live_bundle
    except ImportError:
        return None
    return live_bundle(obj)


set_bundle_renderer(_live_bundle)

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
    "StepLimits",
    "Worker",
    "WorkerNotRunningError",
    "__version__",
    "compare",
    "load_flow",
    "policies",
    "registry",
    "runtime",
]

#: live notebook views, loaded on first use (they need the notebook extra), so they are
#: reachable as ``rx.dashboard`` and listed by ``dir(rx)`` but not part of ``import *``
_LIVE_VIEWS = {
    **dict.fromkeys(
        ("dashboard", "debugger", "flow_graph", "job_progress", "queue_gauges", "trace_table"),
        "live",
    ),
    "map_progress": "widgets.map_progress",
}


def __getattr__(name: str) -> object:
    """Load the live notebook views (``rx.dashboard`` ...) on first use; they need the notebook extra."""
    if name in _LIVE_VIEWS:
        try:
            module = importlib.import_module(f".notebook.{_LIVE_VIEWS[name]}", __name__)
        except ImportError as exc:
            raise ImportError(
                f"routilux_nb.{name} is a live notebook view and needs the notebook extra: "
                f"pip install 'routilux_nb[notebook]' ({exc})"
            ) from exc

        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LIVE_VIEWS})
