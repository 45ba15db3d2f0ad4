"""The routine registry: DSL class names to routine factories.

Names are matched exactly, then in snake_case, so ``DataSource`` and ``data_source`` find the
same class. A dotted name (``mymodule.DataExtractor``, as older flow files write it) is looked
up by its last part: the DSL never imports modules.

Python code a flow document cannot carry is named, never guessed:

* a **function routine** is registered under ``function:<flow_id>/<routine_id>`` (what the DSL
  export writes; :meth:`Flow.routine` registers it when the defining cell runs). Its bare
  function name also resolves, unless a registered class owns the name (a function named
  ``sink`` never shadows the built-in) or functions of two flows share it (then the bare
  name is refused as ambiguous and the error names the qualified references);
* a **custom activation policy** check is registered with :meth:`Registry.add_check` under a
  name of your choice, or under ``<flow_id>/<routine_id>`` by the DSL export.

>>> from routilux_nb.core.routine import Routine
>>> @registry.register("my_echo")
... class Echo(Routine):
...     slots = ["input"]; events = ["output"]
>>> registry.get("Echo") is Echo
True
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from .errors import RegistryError
from .routine import Routine, snake_case

__all__ = ["FUNCTION_PREFIX", "Registry", "function_ref", "registry"]

F = TypeVar("F", bound=Callable[..., Any])

FUNCTION_PREFIX = "function:"


def function_ref(flow_id: str, routine_id: str) -> str:
    """The DSL class name of the function routine ``routine_id`` of flow ``flow_id``."""
    return f"{FUNCTION_PREFIX}{flow_id}/{routine_id}"


class Registry:
    def __init__(self) -> None:
        self._factories: dict[str, Callable[..., Routine]] = {}
        self._canonical: dict[Callable[..., Routine], str] = {}
        #: function routines: ``function:<flow>/<routine>`` -> (function, factory)
        self._functions: dict[str, tuple[Callable[..., Any], Callable[..., Routine]]] = {}
        #: bare function name -> the qualified references registered under it
        self._function_names: dict[str, dict[str, None]] = {}
        self._checks: dict[str, Callable[[dict[str, int]], bool]] = {}
        self._lock = threading.Lock()

    def register(self, *names: str) -> Callable[[F], F]:
        """Decorator registering a routine class (or factory) under ``names`` and its class name."""

        def deco(factory: F) -> F:
            self.add(factory, *names)
            return factory

        return deco

    def add(self, factory: Callable[..., Routine], *names: str, replace: bool = True) -> None:
        own = getattr(factory, "__name__", None)
        all_names = [n for n in (*names, own) if n]
        if not all_names:
            raise ValueError("a registered factory needs a name")
        with self._lock:
            for name in all_names:
                for key in {name, snake_case(name)}:
                    if (
                        not replace
                        and key in self._factories
                        and self._factories[key] is not factory
                    ):
                        continue
                    self._factories[key] = factory
            self._canonical.setdefault(factory, all_names[0])

    def get(self, name: str) -> Callable[..., Routine]:
        if name.startswith(FUNCTION_PREFIX):
            entry = self._functions.get(name)
            if entry is None:
                flow_id, _, rid = name[len(FUNCTION_PREFIX) :].rpartition("/")
                raise RegistryError(
                    name,
                    self.names(),
                    hint=(
                        f"{name!r} is the function routine {rid!r} of flow {flow_id!r}: run the code "
                        f"defining it (@flow.routine on Flow({flow_id!r})) or "
                        f"registry.add_function({flow_id!r}, {rid!r}, fn, slots=..., events=...) first"
                    ),
                )
            return entry[1]
        key = name.rsplit(".", 1)[-1].rsplit(":", 1)[-1]
        found = self._factories.get(key) or self._factories.get(snake_case(key))
        if found is not None:
            return found
        refs = list(self._function_names.get(key, ()))
        if len(refs) == 1:
            return self._functions[refs[0]][1]
        if refs:
            raise RegistryError(
                name,
                self.names(),
                hint=(
                    f"functions named {key!r} exist in several flows; name one: "
                    + ", ".join(repr(r) for r in refs)
                ),
            )
        raise RegistryError(name, self.names())

    # -- function routines -------------------------------------------------------------------
    def add_function(
        self,
        flow_id: str,
        routine_id: str,
        fn: Callable[..., Any],
        *,
        slots: Iterable[Any] = ("input",),
        events: Iterable[Any] = ("output",),
    ) -> str:
        """Make the function routine ``routine_id`` of flow ``flow_id`` loadable from the DSL;
        returns its reference (``function:<flow_id>/<routine_id>``). Registering again replaces."""
        from .routine import FunctionRoutine

        slot_specs, event_specs = tuple(slots), tuple(events)

        def factory(routine_id: str | None = None, **kwargs: Any) -> Routine:
            return FunctionRoutine(
                fn, slots=slot_specs, events=event_specs, routine_id=routine_id, **kwargs
            )

        factory.__name__ = getattr(fn, "__name__", routine_id)
        ref = function_ref(flow_id, routine_id)
        with self._lock:
            old = self._functions.get(ref)
            if old is not None:
                self._function_names.get(getattr(old[0], "__name__", ""), {}).pop(ref, None)
            self._functions[ref] = (fn, factory)
            name = getattr(fn, "__name__", None)
            if name and name.isidentifier():
                self._function_names.setdefault(name, {})[ref] = None
        return ref

    def function_ref_of(self, flow_id: str, routine: Any) -> str | None:
        """The reference under which exactly this function routine is registered, if any."""
        ref = function_ref(flow_id, routine.routine_id)
        entry = self._functions.get(ref)
        return ref if entry is not None and entry[0] is routine.fn else None

    # -- custom activation policy checks ---------------------------------------------------------
    def add_check(
        self, name: str, check: Callable[[dict[str, int]], bool]
    ) -> Callable[[dict[str, int]], bool]:
        """Register the check of a custom activation policy under ``name`` (the DSL's
        ``activation_policy: {type: custom, config: {check: name}}``)."""
        if not callable(check):
            raise TypeError(
                f"add_check({name!r}, ...) needs a callable, got {type(check).__name__}"
            )
        with self._lock:
            self._checks[name] = check
        return check

    def get_check(self, name: str) -> Callable[[dict[str, int]], bool]:
        try:
            return self._checks[name]
        except KeyError:
            known = ", ".join(repr(n) for n in sorted(self._checks)) or "none"
            raise RegistryError(
                name,
                (),
                hint=(
                    f"no custom activation policy check registered as {name!r}: register it with "
                    f"registry.add_check({name!r}, fn) before loading; registered checks: {known}"
                ),
            ) from None

    def check_name_of(self, check: Callable[..., Any]) -> str | None:
        """The name a check is registered under (the first, in registration order)."""
        for name, fn in list(self._checks.items()):
            if fn is check:
                return name
        return None

    def name_of(self, factory: Callable[..., Routine]) -> str | None:
        """The name a factory was first registered under (used when exporting the DSL)."""
        return self._canonical.get(factory)

    def create(self, name: str, routine_id: str | None = None, **kwargs: Any) -> Routine:
        """A new routine of the class registered as ``name`` (snake_case or CamelCase).

        ``kwargs`` are the routine's options: ``config={...}`` or config keys directly,
        ``policy=`` (an activation policy or its DSL spec) and ``error_handler=``. An unknown
        name raises :class:`RegistryError` naming the registered ones; an unknown config key of a
        built-in raises ``ValueError`` with a did-you-mean.

        >>> registry.create("batcher", "batch", batch_size=5).activation_policy.config
        {'batch_size': 5}
        """
        return self.get(name)(routine_id=routine_id, **kwargs)

    def snapshot(
        self,
    ) -> tuple[dict[str, Callable[..., Routine]], dict[Callable[..., Routine], str]]:
        """The registered names, to put back later with :meth:`restore` (tests use this)."""
        with self._lock:
            return dict(self._factories), dict(self._canonical)

    def restore(
        self, state: tuple[dict[str, Callable[..., Routine]], dict[Callable[..., Routine], str]]
    ) -> None:
        """Put back what :meth:`snapshot` returned: names registered since are forgotten."""
        factories, canonical = state
        with self._lock:
            self._factories = dict(factories)
            self._canonical = dict(canonical)

    def names(self) -> list[str]:
        return sorted(self._factories)

    def entries(self) -> list[tuple[str, Callable[..., Routine], list[str]]]:
        """``(name, factory, aliases)`` of every registered class (its first name) and every
        function routine (its ``function:`` reference), in registration order."""
        with self._lock:
            aliases: dict[Callable[..., Routine], list[str]] = {}
            for key, factory in self._factories.items():
                aliases.setdefault(factory, []).append(key)
            out = [
                (name, f, sorted(set(aliases.get(f, ())) - {name}))
                for f, name in self._canonical.items()
            ]
            out += [(ref, factory, []) for ref, (_, factory) in self._functions.items()]
        return out

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self.get(name)
        except RegistryError:
            return False
        return True

    def __repr__(self) -> str:
        return f"Registry({len(self._canonical)} routine classes)"


registry = Registry()
