"""Transforms: change payloads (:class:`Mapper`) or drop some (:class:`Filter`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from routilux_nb.core.context import ActivationContext
from routilux_nb.core.registry import registry

from ._config import ConfiguredRoutine, Payload, as_payload, item_condition, optional_callable

__all__ = ["TRANSFORMATIONS", "Filter", "Mapper"]

#: the named string transformations a Mapper applies (no code is ever evaluated)
TRANSFORMATIONS: dict[str, Callable[[str], str]] = {
    "uppercase": str.upper,
    "lowercase": str.lower,
    "strip": str.strip,
    "identity": lambda s: s,
}


def _mapping(owner: str, key: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(
            f"{owner}: config {key!r} must be a mapping, got {type(value).__name__} {value!r}"
        )
    return dict(value)


@registry.register("mapper", "data_transformer", "DataTransformer", "transformer", "Transformer")
class Mapper(ConfiguredRoutine):
    """Transform every payload; without config, pass payloads through unchanged.

    Config (each optional, applied in this order):
        ``fn``: a Python callable ``item -> item``; a non-dict result is emitted as
        ``{"value": result}``, ``None`` drops the item.
        ``rename``: ``{old: new}`` renames fields.
        ``transformation``: one of ``uppercase``, ``lowercase``, ``strip``, ``identity``,
        applied to the string in ``field`` (default: to every string value).
        ``field``: the field ``transformation`` applies to.
        ``set``: ``{key: value}`` fields added (or overwritten).

    >>> Mapper(transformation="uppercase", field="name").transform({"name": "ada", "id": "x"})
    {'name': 'ADA', 'id': 'x'}
    """

    config_keys = frozenset({"field", "fn", "rename", "set", "transformation"})
    legacy_keys = frozenset(
        {
            "default_value",
            "drop_missing",
            "jsonpath_enabled",
            "keep_unmapped",
            "mappings",
            "max_cache_size",
            "transformation_map",
            "transformations",
        }
    )

    slots = ["input"]
    events = ["output"]

    fn: Callable[[Payload], Any] | None
    rename: dict[str, Any]
    set_fields: dict[str, Any]
    transformation: Callable[[str], str] | None
    field: str | None

    def setup(self) -> None:
        cfg = self.config
        self.fn = optional_callable("Mapper", "fn", cfg.get("fn"))
        self.rename = _mapping("Mapper", "rename", cfg.get("rename"))
        self.set_fields = _mapping("Mapper", "set", cfg.get("set"))
        name = cfg.get("transformation")
        if name is None:
            self.transformation = None
        elif isinstance(name, str) and name in TRANSFORMATIONS:
            self.transformation = TRANSFORMATIONS[name]
        else:
            raise ValueError(
                f"Mapper: unknown transformation {name!r}; allowed: {', '.join(TRANSFORMATIONS)} "
                "(for anything else pass a Python callable as config 'fn')"
            )
        field = cfg.get("field")
        if field is not None and not isinstance(field, str):
            raise ValueError(f"Mapper: config 'field' must be a field name (string), got {field!r}")
        self.field = field

    def transform(self, item: Mapping[str, Any]) -> Payload | None:
        """The payload emitted for ``item`` (``None``: nothing is emitted)."""
        out: Payload = dict(item)
        if self.fn is not None:
            result = as_payload(self.fn(out))
            if result is None:
                return None
            out = result
        for old, new in self.rename.items():
            if old in out:
                out[new] = out.pop(old)
        t = self.transformation
        if t is not None:
            keys = [self.field] if self.field is not None else list(out)
            for key in keys:
                if isinstance(out.get(key), str):
                    out[key] = t(out[key])
        out.update(self.set_fields)
        return out

    def logic(self, input: list[Payload], ctx: ActivationContext) -> None:
        for item in input:
            out = self.transform(item)
            if out is not None:
                ctx.emit("output", out)


@registry.register("filter", "data_filter", "DataFilter")
class Filter(ConfiguredRoutine):
    """Emit payloads passing ``condition`` on ``output``, the others on ``rejected``.

    Config:
        ``condition``: a callable (receives the names it asks for: ``item``/``data`` = the
        payload, or field names) or an expression string over the payload's fields
        (``item``/``data`` also name the whole payload), compiled by
        :func:`~routilux_nb.core.expressions.compile_condition`, never evaluated as code.
        Without a condition everything passes.
        ``invert`` (bool, default false): send passing payloads to ``rejected`` and the others
        to ``output``.

    >>> Filter(condition="value > 2").passes({"value": 3})
    True
    """

    config_keys = frozenset({"condition", "invert"})
    legacy_keys = frozenset({"include_reason"})

    slots = ["input"]
    events = ["output", "rejected"]

    check: Callable[[Mapping[str, Any]], bool] | None

    def setup(self) -> None:
        cond = self.config.get("condition")
        self.check = None if cond is None else item_condition("Filter", cond)
        invert = self.config.get("invert", False)
        if not isinstance(invert, bool):
            raise ValueError(f"Filter: config 'invert' must be true or false, got {invert!r}")
        self.invert = invert

    def passes(self, item: Mapping[str, Any]) -> bool:
        return (self.check is None or bool(self.check(item))) != self.invert

    def logic(self, input: list[Payload], ctx: ActivationContext) -> None:
        for item in input:
            ctx.emit("output" if self.passes(item) else "rejected", item)
