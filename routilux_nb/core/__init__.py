"""The engine: routines, slots, events, connections, flows, policies, the DSL, the registry,
the runtime, workers, jobs and error handling. Imports neither Jupyter nor FastAPI."""

from __future__ import annotations

from . import policies
from .clock import iso
from .compare import Comparison, compare
from .connection import Connection
from .context import ActivationContext, current_activation
from .dsl import load as load_flow
from .error_handling import ErrorHandler
from .errors import (
    BackpressureTimeout,
    DSLError,
    FlowError,
    JobStateError,
    JobTimeoutError,
    JobWaitTimeout,
    RegistryError,
    RoutiluxError,
    StateError,
    StepDropped,
    StepNotFound,
    UnknownEventError,
    UnknownRoutineError,
    UnknownSlotError,
    WorkerNotRunningError,
)
from .event import Event
from .flow import Flow, ValidationReport
from .job import JobContext, Parked
from .registry import Registry, registry
from .routine import FunctionRoutine, Routine
from .runtime import Runtime
from .slot import Slot, pressure_level
from .steps import Step, StepLimits
from .worker import Worker

__all__ = [
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
