"""The routine registry: DSL class names to routine factories.

Names are matched exactly, then in snake_case, so ``DataSource`` and ``data_source`` find the
same class. A dotted name (``mymodule.DataExtractor``, as older flow files write it) is looked
up by its last part: the DSL never imports modules.

>>> from routilux_nb.core.routine import Routine
>>> @registry.register("my_echo")
... class Echo(Routine):
...     slots = ["input"]; events = ["output"]
>>> registry.get("Echo") is Echo
True
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from .errors import RegistryError
from .routine import Routine, snake_case

__all__ = ["Registry", "registry"]

F = TypeVar("F", bound=Callable[..., Any])


class Registry:
    def __init__(self) -> None:
        self._factories: dict[str, Callable[..., Routine]] = {}
        self._canonical: dict[Callable[..., Routine], str] = {}
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
                    if not replace and key in self._factories and self._factories[key] is not factory:
                        continue
                    self._factories[key] = factory
            self._canonical.setdefault(factory, all_names[0])

    def get(self, name: str) -> Callable[..., Routine]:
        key = name.rsplit(".", 1)[-1].rsplit(":", 1)[-1]
        found = self._factories.get(key) or self._factories.get(snake_case(key))
        if found is None:
            raise RegistryError(name, self.names())
        return found

    def name_of(self, factory: Callable[..., Routine]) -> str | None:
        """The name a factory was first registered under (used when exporting the DSL)."""
        return self._canonical.get(factory)

    def create(self, name: str, routine_id: str | None = None, **kwargs: Any) -> Routine:
        return self.get(name)(routine_id=routine_id, **kwargs)

    def snapshot(self) -> tuple[dict[str, Callable[..., Routine]], dict[Callable[..., Routine], str]]:
        """The registered names, to put back later with :meth:`restore` (tests use this)."""
        with self._lock:
            return dict(self._factories), dict(self._canonical)

    def restore(self, state: tuple[dict[str, Callable[..., Routine]], dict[Callable[..., Routine], str]]) -> None:
        """Put back what :meth:`snapshot` returned: names registered since are forgotten."""
        factories, canonical = state
        with self._lock:
            self._factories = dict(factories)
            self._canonical = dict(canonical)

    def names(self) -> list[str]:
        return sorted(self._factories)

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
