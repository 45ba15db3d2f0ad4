"""Sources: where the data of a job enters a flow."""

from __future__ import annotations

from typing import Any

from routilux_nb.core.context import ActivationContext
from routilux_nb.core.registry import registry

from ._config import ConfiguredRoutine, Payload, wrap_value

__all__ = ["DataSource"]


@registry.register("data_source", "DataSource")
class DataSource(ConfiguredRoutine):
    """Emit the payload it is triggered with, or the configured ``items``.

    Config:
        ``items`` (list, optional): emitted in order, once per trigger; items that are not
        dicts are emitted as ``{"value": item}``. Without ``items`` every trigger payload
        is passed on unchanged.

    >>> DataSource(items=[1, {"name": "a"}]).items
    [{'value': 1}, {'name': 'a'}]
    """

    config_keys = frozenset({"items"})

    slots = ["trigger"]
    events = ["output"]

    items: list[Payload] | None

    def setup(self) -> None:
        items: Any = self.config.get("items")
        if items is not None and not isinstance(items, (list, tuple)):
            raise ValueError(
                f"DataSource: config 'items' must be a list, got {type(items).__name__} {items!r}"
            )
        self.items = None if items is None else [wrap_value(i) for i in items]

    def logic(self, trigger: list[Payload], ctx: ActivationContext) -> None:
        for payload in trigger:
            if self.items is None:
                ctx.emit("output", payload)
            else:
                for item in self.items:
                    ctx.emit("output", item)
