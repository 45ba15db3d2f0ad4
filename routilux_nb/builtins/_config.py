"""Helpers shared by the built-in routines: config checks, payload shaping, conditions."""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

from routilux_nb.core.error_handling import ErrorHandler
from routilux_nb.core.expressions import ExpressionError, compile_condition
from routilux_nb.core.policies import ActivationPolicy
from routilux_nb.core.routine import Routine

__all__ = [
    "ConfiguredRoutine",
    "Payload",
    "as_payload",
    "item_condition",
    "optional_callable",
    "positive_number",
    "wrap_value",
]

Payload = dict[str, Any]

CONDITION_HELP = (
    "a condition is a Python callable (it receives the parameters it names: 'item' / 'data' "
    "for the whole payload, or payload field names), or an expression string over the "
    "payload's fields, e.g. \"value > 3 and status == 'ok'\""
)


def wrap_value(item: Any) -> Payload:
    """A payload for ``item``: dicts are copied, anything else becomes ``{"value": item}``."""
    return dict(item) if isinstance(item, Mapping) else {"value": item}


def as_payload(result: Any) -> Payload | None:
    """The payload to emit for a user function's result; ``None`` means "drop the item"."""
    if result is None:
        return None
    return wrap_value(result)


def optional_callable(owner: str, key: str, value: Any) -> Callable[..., Any] | None:
    if value is None:
        return None
    if not callable(value):
        raise ValueError(
            f"{owner}: config {key!r} must be a Python callable (item -> item), got "
            f"{type(value).__name__} {value!r}; the DSL cannot express functions, set it from Python"
        )
    fn: Callable[..., Any] = value
    return fn


def positive_number(
    owner: str, key: str, value: Any, *, integer: bool = False, allow_none: bool = False
) -> Any:
    if value is None and allow_none:
        return None
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or value <= 0:
        what = "a positive integer" if integer else "a positive number of seconds"
        if allow_none:
            what += " or null"
        raise ValueError(f"{owner}: config {key!r} must be {what}, got {value!r}")
    return value


def _names(item: Mapping[str, Any]) -> dict[str, Any]:
    # "self" cannot be passed as a keyword to Condition.__call__; reach it as item["self"]
    names = {k: v for k, v in item.items() if isinstance(k, str) and k != "self"}
    names["item"] = names["data"] = item
    return names


def item_condition(owner: str, condition: Any) -> Callable[[Mapping[str, Any]], bool]:
    """Compile ``condition`` into ``payload -> bool``.

    ``condition`` is a callable, an expression string (see :mod:`routilux_nb.core.expressions`;
    never ``eval``), or a mapping ``{field: value}`` meaning equality on every field.
    """
    if isinstance(condition, Mapping):
        expected = dict(condition)
        missing = object()

        def equal(item: Mapping[str, Any]) -> bool:
            return all(item.get(k, missing) == v for k, v in expected.items())

        return equal
    if not callable(condition) and not isinstance(condition, str):
        raise ValueError(
            f"{owner}: a condition must be a callable, an expression string or a "
            f"{{field: value}} mapping, got {type(condition).__name__} {condition!r}; {CONDITION_HELP}"
        )
    try:
        compiled = compile_condition(condition)
    except ExpressionError as exc:
        raise ValueError(f"{owner}: invalid condition {condition!r}: {exc}") from None

    def check(item: Mapping[str, Any]) -> bool:
        return bool(compiled(**_names(item)))

    return check


#: config keys every built-in accepts: a display name and a description (the original's DSL
#: files carry them)
COMMON_KEYS = frozenset({"name", "description"})


class ConfiguredRoutine(Routine):
    """Base of the built-ins: ``setup()`` reads ``self.config``; ``set_config`` re-runs it.

    A policy or error handler derived from config replaces only the class default or one
    derived earlier, never one given explicitly (``policy=``/``error_handler=`` or the DSL).

    ``config_keys`` lists the keys a built-in reads: any other key is refused with a
    did-you-mean (``batchsize`` is a typo, not a silent default). ``legacy_keys`` are keys the
    original Routilux's routine of that name read and this one does not: they are accepted, so
    the original's flow files load, with a warning that they have no effect.
    """

    config_keys: ClassVar[frozenset[str] | None] = None
    legacy_keys: ClassVar[frozenset[str]] = frozenset()
    _config_policy: ActivationPolicy | None = None
    _config_handler: ErrorHandler | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._check_config_keys(self.config)

    def _check_config_keys(self, keys: Iterable[str]) -> None:
        allowed = type(self).config_keys
        if allowed is None:
            return
        owner, legacy = type(self).__name__, type(self).legacy_keys
        for key in keys:
            if key in allowed or key in COMMON_KEYS:
                continue
            if key in legacy:
                warnings.warn(
                    f"{owner}: config key {key!r} (from the original Routilux) has no effect here; "
                    f"{owner} reads {', '.join(sorted(allowed))}",
                    UserWarning,
                    stacklevel=4,
                )
                continue
            close = difflib.get_close_matches(str(key), sorted(allowed), n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ValueError(
                f"{owner}: unknown config key {key!r}; {hint}{owner} reads "
                f"{', '.join(sorted(allowed))}"
            )

    def set_config(self, **config: Any) -> None:
        self._check_config_keys(config)
        old = dict(self.config)
        self.config.update(config)
        try:
            self.setup()
        except Exception:
            self.config.clear()
            self.config.update(old)
            self.setup()
            raise

    def _derive_policy(self, policy: ActivationPolicy) -> None:
        current = self.activation_policy
        if current is type(self).policy or current is self._config_policy:
            self.activation_policy = self._config_policy = policy

    def _derive_error_handler(self, handler: ErrorHandler) -> None:
        current = self.error_handler
        if current is None or current is self._config_handler:
            self.error_handler = self._config_handler = handler
