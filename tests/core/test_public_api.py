"""The public names of ``routilux_nb`` and ``routilux_nb.core``, and a light import."""

from __future__ import annotations

import doctest
import importlib
import json
import subprocess
import sys

import pytest

import routilux_nb
import routilux_nb.core

TOP_LEVEL = [
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

#: reachable as attributes and listed by dir(), but not in __all__ (they need the notebook extra)
LIVE_VIEWS = ["dashboard", "debugger", "flow_graph", "job_progress", "queue_gauges", "trace_table"]

CORE = [
    "ActivationContext",
    "BackpressureTimeout",
    "Comparison",
    "Connection",
    "DSLError",
    "ErrorHandler",
    "Event",
    "Flow",
    "FlowError",
    "FunctionRoutine",
    "JobContext",
    "JobStateError",
    "JobTimeoutError",
    "JobWaitTimeout",
    "Parked",
    "Registry",
    "RegistryError",
    "RoutiluxError",
    "Routine",
    "Runtime",
    "Slot",
    "StateError",
    "Step",
    "StepDropped",
    "StepLimits",
    "StepNotFound",
    "UnknownEventError",
    "UnknownRoutineError",
    "UnknownSlotError",
    "ValidationReport",
    "Worker",
    "WorkerNotRunningError",
    "compare",
    "current_activation",
    "iso",
    "load_flow",
    "policies",
    "pressure_level",
    "registry",
]


MODULES = pytest.mark.parametrize(
    ("module", "expected"),
    [(routilux_nb, TOP_LEVEL), (routilux_nb.core, CORE)],
    ids=["routilux_nb", "routilux_nb.core"],
)


def test_intended_lists_are_sorted():
    assert sorted(TOP_LEVEL) == TOP_LEVEL and sorted(CORE) == CORE


@MODULES
def test_all_holds_exactly_the_intended_names_and_all_import(module, expected):
    assert sorted(module.__all__) == expected
    assert len(module.__all__) == len(set(module.__all__))
    for name in module.__all__:
        assert getattr(module, name) is not None, name
        exec(f"from {module.__name__} import {name}", {})


@MODULES
def test_all_is_sorted(module, expected):
    assert module.__all__ == expected


def test_star_import_gives_every_name():
    namespace: dict = {}
    exec("from routilux_nb import *", namespace)
    assert set(TOP_LEVEL) <= set(namespace)


def test_live_views_are_listed_by_dir_and_reachable_but_not_star_imported():
    assert set(LIVE_VIEWS) <= set(dir(routilux_nb))
    assert not set(LIVE_VIEWS) & set(routilux_nb.__all__)
    for name in LIVE_VIEWS:
        assert callable(getattr(routilux_nb, name)), name


def test_top_level_names_are_the_core_objects():
    for name in set(TOP_LEVEL) & set(CORE):
        assert getattr(routilux_nb, name) is getattr(routilux_nb.core, name), name
    assert (
        routilux_nb.runtime is importlib.import_module("routilux_nb.core.default").default_runtime
    )
    assert isinstance(routilux_nb.__version__, str) and routilux_nb.__version__


def test_exception_tree():
    rx = routilux_nb.core
    assert issubclass(rx.FlowError, rx.RoutiluxError)
    for exc in (rx.UnknownRoutineError, rx.UnknownSlotError, rx.UnknownEventError, rx.DSLError):
        assert issubclass(exc, rx.FlowError)
    for exc in (
        rx.UnknownRoutineError,
        rx.UnknownSlotError,
        rx.UnknownEventError,
        rx.RegistryError,
    ):
        assert issubclass(exc, KeyError)
    for exc in (rx.WorkerNotRunningError, rx.JobStateError):
        assert issubclass(exc, rx.StateError) and issubclass(exc, rx.RoutiluxError)
    for exc in (rx.BackpressureTimeout, rx.JobTimeoutError, rx.JobWaitTimeout):
        assert issubclass(exc, TimeoutError) and issubclass(exc, rx.RoutiluxError)
    assert issubclass(routilux_nb.ExpressionError, ValueError)


def test_import_is_light():
    code = (
        "import sys, json, routilux_nb\n"
        "heavy = ['fastapi', 'ipywidgets', 'anywidget', 'uvicorn', 'starlette']\n"
        "print(json.dumps({m: m in sys.modules for m in heavy}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded == {m: False for m in loaded}, loaded


def test_core_imports_no_jupyter_or_server_package():
    code = (
        "import sys, json, routilux_nb.core\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('fastapi', 'ipywidgets', 'anywidget', 'IPython', 'uvicorn', 'pydantic')"
        " or m.startswith(('routilux_nb.notebook', 'routilux_nb.server'))]\n"
        "print(json.dumps(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


@pytest.mark.parametrize(
    "name",
    [
        "flow",
        "routine",
        "policies",
        "runtime",
        "registry",
        "flow_checks",
        "mapping",
        pytest.param("error_handling"),
    ],
)
def test_module_examples_run(name):
    module = importlib.import_module(f"routilux_nb.core.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0 or name == "routine"
