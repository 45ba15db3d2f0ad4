"""Flows: routines wired by connections.

>>> flow = Flow("etl")
>>> @flow.routine(slots=["input"], events=["output"])
... def double(input):
...     return [{"value": item["value"] * 2} for item in input]
>>> @flow.routine(slots=["input"], events=[])
... def sink(input, ctx):
...     ctx.data.setdefault("out", []).extend(i["value"] for i in input)
>>> flow.connect("double.output", "sink.input")
Connection(source_routine='double', source_event='output', target_routine='sink', target_slot='input')
>>> flow.validate().valid
True
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .connection import Connection
from .display import HtmlRepr
from .error_handling import ErrorHandler
from .errors import FlowError, UnknownEventError, UnknownRoutineError, UnknownSlotError
from .event import Event
from .flow_checks import wiring_warnings
from .ids import check_id
from .registry import registry
from .routine import FunctionRoutine, Routine, snake_case
from .slot import Slot
from .validation import ValidationReport, validate_flow

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["Flow", "ValidationReport"]


class Flow(HtmlRepr):
    """A graph of routines. Routines and connections may change while workers run it."""

    def __init__(
        self,
        flow_id: str | None = None,
        *,
        execution_timeout: float | None = None,
        error_handler: ErrorHandler | str | Mapping[str, Any] | None = None,
    ) -> None:
        self.flow_id: str = check_id(flow_id or "flow", "flow_id")
        self.execution_timeout = execution_timeout
        self.error_handler: ErrorHandler | None = ErrorHandler.from_spec(error_handler)
        self.execution: dict[str, Any] = {}
        self.routines: dict[str, Routine] = {}
        self.connections: list[Connection] = []
        self._routes: dict[tuple[str, str], tuple[tuple[str, str, int], ...]] = {}
        self._entries: list[str] = []
        self._order: dict[str, int] = {}
        self._lock = threading.RLock()
        self.version = 0
        #: the workers that run this flow (they look routines up by id at each activation)
        self._workers: weakref.WeakSet[Any] = weakref.WeakSet()

    # -- building ------------------------------------------------------------------------
    def add_routine(self, routine: Routine, routine_id: str | None = None) -> Routine:
        """Add ``routine`` under ``routine_id`` (default: its own id or its snake_case class name)."""
        if not isinstance(routine, Routine):
            raise TypeError(f"add_routine needs a Routine, got {type(routine).__name__}")
        with self._lock:
            rid = routine_id or routine.routine_id or snake_case(routine.class_name)
            if rid in self.routines and self.routines[rid] is not routine:
                raise FlowError(f"flow {self.flow_id!r} already has a routine {rid!r}")
            if "." in rid:
                raise FlowError(f"routine id {rid!r} must not contain '.'")
            check_id(rid, "routine id")
            routine.routine_id = rid
            self.routines[rid] = routine
            self._changed()
        return routine

    def routine(
        self,
        fn: Callable[..., Any] | None = None,
        *,
        slots: Iterable[str | Slot] = ("input",),
        events: Iterable[str | Event] = ("output",),
        routine_id: str | None = None,
        **options: Any,
    ) -> Any:
        """Decorator adding a function routine; re-running the defining cell replaces it.

        The function receives, per slot, the list of payloads (dicts) that arrived; it names
        the slots it reads as parameters, plus ``ctx`` (the
        :class:`~routilux_nb.core.context.ActivationContext`) if it wants it. Returning a dict
        (or a list of dicts) emits it on the routine's only event; ``ctx.emit(event, payload)``
        emits on any event. The decorated name stays callable like the function.

        Args:
            slots: input slot names (or :class:`Slot` objects for a bound or timeout).
            events: output event names.
            routine_id: the routine's id in the flow (default: the function's name).
            **options: ``policy=`` (activation policy: ``"immediate"``, ``policies.batch_size(10)``,
                ...), ``error_handler=`` (``ErrorHandler("retry", max_retries=3)``), ``config=``.

        >>> flow = Flow("demo")
        >>> @flow.routine(slots=["input"], events=["output"])
        ... def double(input):
        ...     return [{"x": item["x"] * 2} for item in input]
        >>> double([{"x": 2}])
        [{'x': 4}]
        """

        def deco(f: Callable[..., Any]) -> FunctionRoutine:
            rid = routine_id or f.__name__
            r = FunctionRoutine(f, slots=slots, events=events, routine_id=rid, **options)
            with self._lock:
                old = self.routines.get(rid)
                if old is not None:
                    self._check_redefinition(old, r)
                self.routines[rid] = r
                if old is not None:
                    self.connections = [c for c in self.connections if self._still_valid(c)]
                self._changed()
            _register_function(self.flow_id, rid, f, tuple(slots), tuple(events))
            return r

        return deco(fn) if fn is not None else deco

    def _check_redefinition(self, old: Routine, new: Routine) -> None:
        """A redefined routine replaces the old one; running workers take it for their next
        activations. Its slots and events may change only while no worker runs the flow."""
        before = (list(old.slot_specs), list(old.event_specs))
        after = (list(new.slot_specs), list(new.event_specs))
        if before == after:
            return
        running = sorted(w.worker_id for w in list(self._workers) if w.status != "stopped")
        if running:
            raise FlowError(
                f"routine {new.routine_id!r} of flow {self.flow_id!r} runs on worker(s) "
                f"{', '.join(running)}: its slots/events cannot change from {before[0]}/"
                f"{before[1]} to {after[0]}/{after[1]} while they run. Keep the slots and "
                "events (then only the function is replaced, and running workers use it), or "
                "stop the workers first (worker.stop())"
            )

    def remove_routine(self, routine_id: str) -> None:
        """Remove a routine and every connection touching it."""
        with self._lock:
            self.get_routine(routine_id)
            del self.routines[routine_id]
            self.connections = [
                c
                for c in self.connections
                if routine_id not in (c.source_routine, c.target_routine)
            ]
            self._changed()

    def get_routine(self, routine_id: str) -> Routine:
        try:
            return self.routines[routine_id]
        except KeyError:
            raise UnknownRoutineError(routine_id, self.routines, f"flow {self.flow_id!r}") from None

    def connect(
        self,
        source: str | Routine,
        target: str | Routine,
        source_event: str | None = None,
        target_slot: str | None = None,
    ) -> Connection:
        """Wire ``"a.output"`` to ``"b.input"`` (or routines with explicit event/slot names)."""
        conn = self._make_connection(source, target, source_event, target_slot)
        with self._lock:
            self.check_connection(conn)
            self.connections.append(conn)
            self._changed()
        return conn

    def disconnect(self, connection: Connection | int) -> Connection:
        """Remove a connection by object or by index (``conn_{index}``)."""
        with self._lock:
            if isinstance(connection, int):
                if not 0 <= connection < len(self.connections):
                    raise FlowError(
                        f"flow {self.flow_id!r} has no connection {connection}; "
                        f"indexes 0..{len(self.connections) - 1}"
                    )
                conn = self.connections.pop(connection)
            else:
                try:
                    self.connections.remove(connection)
                except ValueError:
                    raise FlowError(
                        f"flow {self.flow_id!r} has no connection {connection}"
                    ) from None
                conn = connection
            self._changed()
        return conn

    def _make_connection(
        self, source: Any, target: Any, event: str | None, slot: str | None
    ) -> Connection:
        src = source.routine_id if isinstance(source, Routine) else str(source)
        dst = target.routine_id if isinstance(target, Routine) else str(target)
        if event is not None:
            src = f"{src}.{event}"
        if slot is not None:
            dst = f"{dst}.{slot}"
        return Connection.parse(src, dst)

    def check_connection(self, c: Connection) -> None:
        """Raise :class:`FlowError` naming what ``c`` refers to that this flow lacks."""
        src = self.get_routine(c.source_routine)
        dst = self.get_routine(c.target_routine)
        if c.source_event not in src.event_specs:
            raise UnknownEventError(c.source_routine, c.source_event, src.event_specs)
        if c.target_slot not in dst.slot_specs:
            raise UnknownSlotError(c.target_routine, c.target_slot, dst.slot_specs)

    def _still_valid(self, c: Connection) -> bool:
        try:
            self.check_connection(c)
        except FlowError:
            return False
        return True

    def _changed(self) -> None:
        routes: dict[tuple[str, str], list[tuple[str, str, int]]] = {}
        for i, c in enumerate(self.connections):
            routes.setdefault((c.source_routine, c.source_event), []).append(
                (c.target_routine, c.target_slot, i)
            )
        self._routes = {k: tuple(v) for k, v in routes.items()}
        fed = {c.target_routine for c in self.connections}
        self._entries = [rid for rid in self.routines if rid not in fed]
        self._order = _topological_order(self.routines, self.connections)
        self.version += 1

    def routes(self, routine_id: str, event: str) -> tuple[tuple[str, str, int], ...]:
        """``(target_routine, target_slot, connection_index)`` for an emitted event."""
        return self._routes.get((routine_id, event), ())

    def order(self) -> dict[str, int]:
        """Routine id -> position in a topological order (cycles broken in insertion order)."""
        return self._order

    # -- inspecting ----------------------------------------------------------------------
    def entry_routines(self) -> list[str]:
        """Routines no connection feeds: where jobs are submitted."""
        return list(self._entries)

    def validate(self) -> ValidationReport:
        """Check references (errors), duplicates, cycles, unreachable routines and forgotten
        connects (warnings); see :func:`routilux_nb.core.validation.validate_flow` and
        :mod:`routilux_nb.core.flow_checks`."""
        report = validate_flow(self)
        report.warnings.extend(wiring_warnings(self))
        return report

    def to_networkx(self) -> nx.MultiDiGraph:
        """The flow as a ``networkx.MultiDiGraph`` (nodes carry ``class_name``; edges event/slot)."""
        import networkx as nx

        g = nx.MultiDiGraph(flow_id=self.flow_id)
        for rid, r in self.routines.items():
            g.add_node(
                rid, class_name=r.class_name, slots=list(r.slot_specs), events=list(r.event_specs)
            )
        for i, c in enumerate(self.connections):
            g.add_edge(
                c.source_routine,
                c.target_routine,
                key=f"conn_{i}",
                event=c.source_event,
                slot=c.target_slot,
            )
        return g

    def describe(self) -> dict[str, Any]:
        """The flow as the API returns it (``GET /flows/{id}``)."""
        with self._lock:
            routines = {rid: r.describe() for rid, r in self.routines.items()}
            for rid, r in self.routines.items():
                routines[rid]["activation_policy"] = r.activation_policy.describe()
            return {
                "flow_id": self.flow_id,
                "routines": routines,
                "connections": [c.to_dict(i) for i, c in enumerate(self.connections)],
                "execution_timeout": self.execution_timeout,
                "error_handler": self.error_handler.to_dict() if self.error_handler else None,
            }

    def metrics(self, runtime: Any = None) -> dict[str, Any]:
        """Job counts, success rate, durations and routine metrics of this flow on ``runtime``
        (default: the kernel's runtime)."""
        from .default import default_runtime

        rt = runtime or default_runtime()
        return rt.monitor.flow_metrics(self.flow_id)  # type: ignore[no-any-return]

    # -- DSL -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The flow in the DSL's shape (see :mod:`routilux_nb.core.dsl`)."""
        from .dsl import flow_to_dict

        return flow_to_dict(self)

    def to_yaml(self) -> str:
        from .dsl import dump_yaml

        return dump_yaml(self)

    def to_json(self) -> str:
        from .dsl import dump_json

        return dump_json(self)

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> Flow:
        from .dsl import flow_from_dict

        return flow_from_dict(spec)

    @classmethod
    def from_yaml(cls, text: str) -> Flow:
        from .dsl import load_yaml

        return load_yaml(text)

    @classmethod
    def from_json(cls, text: str) -> Flow:
        from .dsl import load_json

        return load_json(text)

    def __repr__(self) -> str:
        return (
            f"Flow(flow_id={self.flow_id!r}, routines={list(self.routines)}, "
            f"connections={len(self.connections)})"
        )


def _topological_order(
    routines: Mapping[str, Routine], connections: list[Connection]
) -> dict[str, int]:
    indegree = dict.fromkeys(routines, 0)
    out: dict[str, list[str]] = {rid: [] for rid in routines}
    for c in connections:
        if c.source_routine in out and c.target_routine in indegree:
            out[c.source_routine].append(c.target_routine)
            indegree[c.target_routine] += 1
    order: dict[str, int] = {}
    pending = list(routines)
    while pending:
        ready = [r for r in pending if indegree[r] == 0] or pending[:1]
        for rid in ready:
            order[rid] = len(order)
            pending.remove(rid)
            for nxt in out[rid]:
                indegree[nxt] -= 1
    return order


def _register_function(
    flow_id: str,
    routine_id: str,
    fn: Callable[..., Any],
    slots: tuple[Any, ...],
    events: tuple[Any, ...],
) -> None:
    """Make a decorated function loadable from the DSL in this process, as
    ``function:<flow_id>/<routine_id>`` (see :mod:`routilux_nb.core.registry`)."""
    registry.add_function(flow_id, routine_id, fn, slots=slots, events=events)
