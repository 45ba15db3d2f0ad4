"""Routing: send payloads to different events (:class:`ConditionalRouter`) or fan a list
out into one payload per element (:class:`Splitter`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from routilux_nb.core.context import ActivationContext
from routilux_nb.core.registry import registry

from ._config import ConfiguredRoutine, Payload, item_condition

__all__ = ["ROUTER_MODES", "ConditionalRouter", "Splitter"]

ROUTER_MODES = ("first", "all")


def _route_items(routes: Any) -> list[tuple[Any, Any]]:
    if routes is None:
        return []
    if isinstance(routes, Mapping):
        return list(routes.items())
    if isinstance(routes, (list, tuple)) and all(
        isinstance(r, (list, tuple)) and len(r) == 2 for r in routes
    ):
        return [tuple(r) for r in routes]  # the older [[name, condition], ...] form
    raise ValueError(
        "ConditionalRouter: config 'routes' must be a mapping of event name to condition "
        f"(callable, expression string or {{field: value}}), got {routes!r}"
    )


@registry.register("conditional_router", "router", "Router")
class ConditionalRouter(ConfiguredRoutine):
    """Emit each payload on the event of the route(s) whose condition it meets, else ``default``.

    Config:
        ``routes``: ``{event_name: condition}`` in priority order. A condition is a
        callable (receives ``item``/``data`` or field names it asks for), an expression
        string over the payload's fields, or a mapping ``{field: value}`` (every field equal).
        Each route name becomes an event; ``default`` is always an event too.
        ``mode``: ``first`` (default; the first matching route) or ``all`` (every match).

    >>> router = ConditionalRouter(routes={"high": "value > 10", "even": {"parity": "even"}})
    >>> list(router.event_specs)
    ['default', 'high', 'even']
    >>> router.targets({"value": 12, "parity": "even"})
    ['high']
    """

    config_keys = frozenset({"mode", "routes"})
    legacy_keys = frozenset({"default_route", "route_priority", "threshold"})

    slots = ["input"]
    events = ["default"]

    routes: list[tuple[str, Callable[[Mapping[str, Any]], bool]]]
    mode: str

    def setup(self) -> None:
        mode = self.config.get("mode", "first")
        if mode not in ROUTER_MODES:
            raise ValueError(
                f"ConditionalRouter: unknown mode {mode!r}; allowed: {', '.join(ROUTER_MODES)}"
            )
        routes: list[tuple[str, Callable[[Mapping[str, Any]], bool]]] = []
        for name, cond in _route_items(self.config.get("routes")):
            if not isinstance(name, str) or not name or "." in name or name == "default":
                raise ValueError(
                    f"ConditionalRouter: route name {name!r} must be a non-empty string without '.' "
                    "and other than 'default' (it becomes an event name)"
                )
            routes.append((name, item_condition(f"ConditionalRouter route {name!r}", cond)))
        self.mode = mode
        self.routes = routes
        for name, _ in routes:
            if name not in self.event_specs:
                self.define_event(name)

    def targets(self, item: Mapping[str, Any]) -> list[str]:
        """The events ``item`` is emitted on."""
        matched: list[str] = []
        for name, check in self.routes:
            if check(item):
                matched.append(name)
                if self.mode == "first":
                    break
        return matched or ["default"]

    def logic(self, input: list[Payload], ctx: ActivationContext) -> None:
        for item in input:
            for event in self.targets(item):
                ctx.emit(event, item)


@registry.register("splitter", "Splitter")
class Splitter(ConfiguredRoutine):
    """Emit one payload per element of the list in ``field``.

    Config:
        ``field`` (str, default ``"items"``): the list to split. Dict elements are emitted
        as they are, other elements as ``{"value": element, "index": i}``. A payload without
        that field (or where it is not a list) is emitted unchanged.

    >>> Splitter().split({"items": [{"a": 1}, 7]})
    [{'a': 1}, {'value': 7, 'index': 1}]
    """

    config_keys = frozenset({"field"})
    legacy_keys = frozenset({"dict_mode", "include_count", "include_index", "split_strings"})

    slots = ["input"]
    events = ["output"]

    field: str

    def setup(self) -> None:
        field = self.config.get("field", "items")
        if not isinstance(field, str) or not field:
            raise ValueError(
                f"Splitter: config 'field' must be a field name (string), got {field!r}"
            )
        self.field = field

    def split(self, item: Mapping[str, Any]) -> list[Payload]:
        elements = item.get(self.field)
        if not isinstance(elements, (list, tuple)):
            return [dict(item)]
        return [
            dict(el) if isinstance(el, Mapping) else {"value": el, "index": i}
            for i, el in enumerate(elements)
        ]

    def logic(self, input: list[Payload], ctx: ActivationContext) -> None:
        for item in input:
            for out in self.split(item):
                ctx.emit("output", out)
