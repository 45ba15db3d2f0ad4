"""Routines: the nodes of a flow.

Two first-class ways to write one:

>>> class Double(Routine):
...     slots = ["input"]
...     events = ["output"]
...     def logic(self, input):
...         for item in input:
...             self.emit("output", value=item["value"] * 2)

>>> double = FunctionRoutine(lambda input: [{"value": i["value"] * 2} for i in input],
...                          slots=["input"], events=["output"], routine_id="double")

Logic receives, for each slot, the list of payloads (dicts) taken by the activation policy,
by slot name (or positionally, in slot order, when the parameter names differ), plus the
:class:`~routilux_nb.core.context.ActivationContext` if it has a ``ctx`` parameter. It sends
data downstream with ``self.emit(event, **payload)`` / ``ctx.emit(...)``, or by returning a
dict (emitted once) or a list of dicts (each emitted) on the routine's only event.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

from .context import ActivationContext, current_activation
from .display import HtmlRepr
from .error_handling import ErrorHandler
from .errors import UnknownEventError, UnknownSlotError
from .event import Event
from .jsonsafe import to_jsonable
from .policies import ActivationPolicy, immediate, policy_from_spec
from .slot import DEFAULT_MAX_LENGTH, Slot

__all__ = ["FunctionRoutine", "Routine", "snake_case"]


def snake_case(name: str) -> str:
    """``DataSource`` -> ``data_source``."""
    return re.sub(r"(?<!^)(?=[A-Z][a-z])|(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _as_slot(spec: str | Slot) -> Slot:
    return spec if isinstance(spec, Slot) else Slot(str(spec))


def _as_event(spec: str | Event) -> Event:
    return spec if isinstance(spec, Event) else Event(str(spec))


#: how logic is called (see ``Routine._call_plan``)
_Plan = tuple[int, bool, bool, tuple[str, ...]]
#: logic's call shapes: ``fn(**kwargs)`` / ``fn(*args)``, ``fn(items)``, ``fn(items, ctx)``,
#: ``fn(items, ctx=ctx)``
_GENERAL, _ONE, _ONE_CTX, _ONE_CTX_KW = 0, 1, 2, 3


def _shape(
    fn: Callable[..., Any],
    params: Mapping[str, inspect.Parameter],
    wants_ctx: bool,
    by_name: bool,
    slots: tuple[str, ...],
) -> int:
    """The one-slot call shape that binds logic's parameters as the general call would."""
    if len(slots) != 1:
        return _GENERAL
    func = getattr(fn, "__func__", fn)
    if not inspect.isfunction(func) or hasattr(func, "__wrapped__"):
        return _GENERAL  # a wrapper's own parameters may differ from the signature shown
    positional = [
        n for n, p in params.items() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    kinds = {n: p.kind for n, p in params.items()}
    if by_name and (not positional or positional[0] != slots[0]):
        return _GENERAL
    if by_name and kinds[slots[0]] is inspect.Parameter.POSITIONAL_ONLY:
        return _GENERAL  # by keyword this raises; keep it so
    if not by_name and not positional:
        return _GENERAL
    if not wants_ctx:
        return _ONE
    if len(positional) > 1 and positional[1] == "ctx":
        return _ONE_CTX if kinds["ctx"] is inspect.Parameter.POSITIONAL_OR_KEYWORD else _GENERAL
    return _ONE_CTX_KW


class Routine(HtmlRepr):
    """Base class of every routine. Subclasses declare ``slots``, ``events`` and ``logic``."""

    slots: ClassVar[Iterable[str | Slot]] = ()
    events: ClassVar[Iterable[str | Event]] = ()
    policy: ClassVar[ActivationPolicy | None] = None
    default_config: ClassVar[Mapping[str, Any]] = {}

    def __init__(
        self,
        routine_id: str | None = None,
        *,
        config: Mapping[str, Any] | None = None,
        policy: ActivationPolicy | str | Mapping[str, Any] | None = None,
        error_handler: ErrorHandler | str | Mapping[str, Any] | None = None,
        **config_kw: Any,
    ) -> None:
        self.routine_id: str = routine_id or ""
        self.config: dict[str, Any] = {**self.default_config, **(config or {}), **config_kw}
        cls = type(self)
        self._slots: dict[str, Slot] = {s.name: s for s in map(_as_slot, cls.slots)}
        self._events: dict[str, Event] = {e.name: e for e in map(_as_event, cls.events)}
        self.activation_policy: ActivationPolicy = policy_from_spec(
            policy or cls.policy or immediate()
        )
        self.error_handler: ErrorHandler | None = ErrorHandler.from_spec(error_handler)
        self._plan: _Plan | None = None
        self.setup()

    def setup(self) -> None:
        """Hook for subclasses: define slots/events/policy from ``self.config``."""

    # -- declaration ---------------------------------------------------------------------
    def define_slot(
        self,
        name: str,
        max_length: int = DEFAULT_MAX_LENGTH,
        watermark: float = 0.8,
        put_timeout: float = 30.0,
    ) -> Slot:
        slot = Slot(name, int(max_length), float(watermark), float(put_timeout))
        self._slots[name] = slot
        self._plan = None
        return slot

    def define_event(self, name: str, params: Iterable[str] = ()) -> Event:
        event = Event(name, tuple(params))
        self._events[name] = event
        return event

    def set_activation_policy(self, policy: ActivationPolicy | str | Mapping[str, Any]) -> None:
        self.activation_policy = policy_from_spec(policy)

    def set_error_handler(self, handler: ErrorHandler | str | Mapping[str, Any] | None) -> None:
        self.error_handler = ErrorHandler.from_spec(handler)

    def set_config(self, **config: Any) -> None:
        self.config.update(config)

    def get_config(self, key: str, default: Any = None) -> Any:
        return self.config.get(key, default)

    @property
    def slot_specs(self) -> dict[str, Slot]:
        return self._slots

    @property
    def event_specs(self) -> dict[str, Event]:
        return self._events

    def slot(self, name: str) -> Slot:
        try:
            return self._slots[name]
        except KeyError:
            raise UnknownSlotError(self.routine_id, name, self._slots) from None

    def event(self, name: str) -> Event:
        try:
            return self._events[name]
        except KeyError:
            raise UnknownEventError(self.routine_id, name, self._events) from None

    @property
    def class_name(self) -> str:
        return type(self).__name__

    # -- running -------------------------------------------------------------------------
    def logic(self, *args: Any, **kwargs: Any) -> Any:
        """Override: process the taken items and emit results."""
        raise NotImplementedError(f"{self.class_name} must implement logic()")

    def _logic_callable(self) -> Callable[..., Any]:
        return self.logic

    def _call_plan(self) -> _Plan:
        """How logic is called, computed once per slot layout: (shape, pass ctx?, pass slots
        by keyword?, slot order); the shape is one of the one-slot calls :meth:`_invoke`
        makes without building arguments, or ``_GENERAL``."""
        fn = self._logic_callable()
        try:
            params = inspect.signature(fn).parameters
        except (TypeError, ValueError):  # builtins without a signature
            return (_GENERAL, False, False, tuple(self._slots))
        wants_ctx = "ctx" in params
        var_kw = any(p.kind is p.VAR_KEYWORD for p in params.values())
        names = [
            n
            for n, p in params.items()
            if n != "ctx" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]
        var_pos = any(p.kind is p.VAR_POSITIONAL for p in params.values())
        slots = tuple(self._slots)
        by_name = var_kw or set(slots) <= set(names)
        if (
            not by_name
            and not var_pos
            and len([n for n in names if params[n].default is params[n].empty]) > len(slots)
        ):
            raise TypeError(
                f"logic of routine {self.routine_id!r} takes parameters {names} that do not match "
                f"its slots {list(slots)}: name parameters after slots, or take them in slot order"
            )
        return (_shape(fn, params, wants_ctx, by_name, slots), wants_ctx, by_name, slots)

    def _invoke(self, ctx: ActivationContext, inputs: dict[str, list[dict[str, Any]]]) -> Any:
        plan = self._plan
        if plan is None:
            plan = self._plan = self._call_plan()
        shape, wants_ctx, by_name, order = plan
        fn = self._logic_callable()
        if shape:  # one slot, passed first: the same binding as by name, without a kwargs dict
            slot = order[0]
            items = inputs[slot] if slot in inputs else []
            if shape == _ONE:
                return fn(items)
            return fn(items, ctx) if shape == _ONE_CTX else fn(items, ctx=ctx)
        if by_name:
            kwargs: dict[str, Any] = {s: inputs.get(s, []) for s in order}
            if wants_ctx:
                kwargs["ctx"] = ctx
            return fn(**kwargs)
        args = [inputs.get(s, []) for s in order]
        return fn(*args, ctx=ctx) if wants_ctx else fn(*args)

    def emit(self, event: str, payload: Mapping[str, Any] | None = None, /, **fields: Any) -> None:
        """Send an item (``payload`` and/or ``fields``) out of ``event``; only while this
        routine's logic is running. Any key is ordinary data, ``event`` and ``self`` included."""
        item = dict(payload) if payload is not None else fields
        if payload is not None and fields:
            item.update(fields)
        act = current_activation()
        if act is None or act.routine is not self:
            raise RuntimeError(
                f"{self.class_name}.emit({event!r}) called outside its logic: emit only while "
                "the routine runs (inside logic), or use ctx.emit"
            )
        act.worker._emit(act, event, item)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled for remote executors: logic and config travel; policies and handlers stay."""
        state = self.__dict__.copy()
        state["activation_policy"] = None
        state["error_handler"] = None
        state["_plan"] = None
        return state

    def describe(self) -> dict[str, Any]:
        """The routine as the API lists it (``GET /flows/{id}/routines``)."""
        return {
            "routine_id": self.routine_id,
            "class_name": self.class_name,
            "slots": list(self._slots),
            "events": list(self._events),
            "config": to_jsonable(self.config),
        }

    def info(self) -> dict[str, Any]:
        """``GET /flows/{id}/routines/{rid}/info``: type, policy, config, slots, events."""
        return {
            "routine_id": self.routine_id,
            "routine_type": self.class_name,
            "class_name": self.class_name,
            "activation_policy": self.activation_policy.describe(),
            "config": to_jsonable(self.config),
            "slots": list(self._slots),
            "events": list(self._events),
            "error_handler": self.error_handler.to_dict() if self.error_handler else None,
        }

    def __repr__(self) -> str:
        return (
            f"{self.class_name}(routine_id={self.routine_id!r}, slots={list(self._slots)}, "
            f"events={list(self._events)})"
        )


class FunctionRoutine(Routine):
    """A routine whose logic is a plain function (see :meth:`Flow.routine`)."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        slots: Iterable[str | Slot] = ("input",),
        events: Iterable[str | Event] = ("output",),
        routine_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"FunctionRoutine needs a callable, got {type(fn).__name__}")
        self.fn = fn
        super().__init__(routine_id or getattr(fn, "__name__", "routine"), **kwargs)
        self._slots = {s.name: s for s in map(_as_slot, slots)}
        self._events = {e.name: e for e in map(_as_event, events)}
        if not self._slots:
            raise ValueError(f"routine {self.routine_id!r} needs at least one slot")

    @property
    def class_name(self) -> str:
        return getattr(self.fn, "__name__", "function")

    def _logic_callable(self) -> Callable[..., Any]:
        return self.fn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the function itself: a ``@flow.routine`` function stays usable as a function."""
        return self.fn(*args, **kwargs)

    def __reduce__(self) -> Any:
        """Pickled by reference when its module binds its name to this routine (what
        ``@flow.routine`` does at module level), so process pools find it by import."""
        module = sys.modules.get(getattr(self.fn, "__module__", "") or "")
        name = getattr(self.fn, "__qualname__", "")
        if (
            module is not None
            and module.__name__ != "__main__"
            and getattr(module, name, None) is self
        ):
            self.__module__ = module.__name__  # where pickle looks the name up
            return name
        return super().__reduce__()
