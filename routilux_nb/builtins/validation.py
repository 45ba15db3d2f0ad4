"""Validators: payloads that pass go out on ``valid``, the others on ``invalid`` with the reasons.

:class:`DataValidator` checks fields against rules (named checks, expressions or callables);
:class:`SchemaValidator` checks whole payloads against a JSON Schema, a pydantic model or a
callable. Both keep the configuration keys and event fields of the original Routilux
built-ins of the same names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from routilux_nb.core.context import ActivationContext
from routilux_nb.core.expressions import ExpressionError, compile_condition
from routilux_nb.core.registry import registry

from ._config import ConfiguredRoutine, Payload

__all__ = ["NAMED_CHECKS", "DataValidator", "SchemaValidator"]

#: checks a rule can name (``rules: {age: is_positive}``)
NAMED_CHECKS: dict[str, Callable[[Any], bool]] = {
    "not_empty": lambda x: x is not None and x != "",
    "is_string": lambda x: isinstance(x, str),
    "is_int": lambda x: isinstance(x, int) and not isinstance(x, bool),
    "is_float": lambda x: isinstance(x, float),
    "is_number": lambda x: isinstance(x, (int, float)) and not isinstance(x, bool),
    "is_dict": lambda x: isinstance(x, dict),
    "is_list": lambda x: isinstance(x, list),
    "is_positive": lambda x: isinstance(x, (int, float)) and not isinstance(x, bool) and x > 0,
    "is_non_negative": lambda x: isinstance(x, (int, float)) and not isinstance(x, bool) and x >= 0,
}

Check = Callable[[Any], "bool | tuple[bool, Any]"]


def _bool_flag(owner: str, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{owner}: config {key!r} must be true or false, got {value!r}")
    return value


def _field_check(owner: str, field: str, rule: Any) -> Check:
    """A named check, an expression over ``value`` (and ``data``), or a callable."""
    if callable(rule):
        check: Check = rule
        return check
    if isinstance(rule, str):
        if rule in NAMED_CHECKS:
            return NAMED_CHECKS[rule]
        try:
            cond = compile_condition(rule)
        except ExpressionError as exc:
            raise ValueError(
                f"{owner}: rule for {field!r} is neither a named check ({', '.join(NAMED_CHECKS)}) "
                f"nor a valid expression over 'value': {exc}"
            ) from None
        return lambda value: bool(cond(value=value, data=value))
    raise ValueError(
        f"{owner}: rule for {field!r} must be a check name, an expression or a callable, got {rule!r}"
    )


def _run_check(check: Check, value: Any, field: str) -> str | None:
    """``None`` when ``value`` passes, else the error message."""
    try:
        result = check(value)
    except Exception as exc:  # a failing check is an invalid value, reported with its reason
        return f"Validation error for field '{field}': {exc}"
    if isinstance(result, tuple) and len(result) == 2:
        ok, message = result
        return None if ok else str(message or f"Field '{field}' failed validation")
    return None if result else f"Field '{field}' failed validation"


@registry.register("data_validator", "DataValidator")
class DataValidator(ConfiguredRoutine):
    """Validate each payload's fields; emit ``valid(validated_data)`` or ``invalid(errors, data)``.

    The value checked is the payload's ``data`` field when it has one, else the whole payload.

    Config:
        ``rules``: ``{field: rule}`` where a rule is a named check (:data:`NAMED_CHECKS`), an
        expression over ``value`` (``"value >= 18"``) or a Python callable returning a bool or
        ``(ok, message)``; the field ``value`` checks a non-dict value, ``items`` each element
        of a list. Or a list of expressions over ``data`` and the payload's fields
        (``["data is not None", "data.get('id') is not None"]``).
        ``required_fields`` (list): fields that must be present.
        ``strict_mode`` (bool, default false): stop at the first error.
        ``allow_extra_fields`` (bool, default true): fields without a rule are allowed.
        ``schema``: validate like :class:`SchemaValidator` instead (the original's
        ``DataValidator`` name also meant the schema validator).

    >>> DataValidator(rules={"age": "is_positive"}, required_fields=["name"]).errors({"age": -1})
    ["Required field 'name' is missing", "Field 'age' failed validation"]
    """

    slots = ["input"]
    events = ["valid", "invalid"]

    def setup(self) -> None:
        cfg = self.config
        self.schema_mode: SchemaValidator | None = None
        if cfg.get("schema") is not None:
            self.schema_mode = SchemaValidator(
                config={k: v for k, v in cfg.items() if k != "rules"}
            )
            return
        rules = cfg.get("rules") or {}
        self.field_rules: dict[str, Check] = {}
        self.expressions: list[tuple[str, Any]] = []
        if isinstance(rules, Mapping):
            self.field_rules = {
                str(f): _field_check("DataValidator", str(f), r) for f, r in rules.items()
            }
        elif isinstance(rules, (list, tuple)):
            for rule in rules:
                if not isinstance(rule, str):
                    raise ValueError(
                        f"DataValidator: a rule in a list must be an expression string, got {rule!r}"
                    )
                try:
                    self.expressions.append((rule, compile_condition(rule)))
                except ExpressionError as exc:
                    raise ValueError(f"DataValidator: invalid rule {rule!r}: {exc}") from None
        else:
            raise ValueError(
                f"DataValidator: config 'rules' must be a mapping {{field: rule}} or a list of "
                f"expressions, got {type(rules).__name__} {rules!r}"
            )
        required = cfg.get("required_fields") or []
        if not isinstance(required, (list, tuple)) or not all(isinstance(f, str) for f in required):
            raise ValueError(
                f"DataValidator: config 'required_fields' must be a list of field names, got {required!r}"
            )
        self.required = list(required)
        self.strict = _bool_flag("DataValidator", "strict_mode", cfg.get("strict_mode", False))
        self.allow_extra = _bool_flag(
            "DataValidator", "allow_extra_fields", cfg.get("allow_extra_fields", True)
        )

    def errors(self, data: Any) -> list[str]:
        """The validation errors of ``data`` (empty: valid)."""
        errors: list[str] = []

        def add(message: str | None) -> bool:
            if message:
                errors.append(message)
            return bool(errors) and self.strict

        for source, cond in self.expressions:
            names = (
                {k: v for k, v in data.items() if isinstance(k, str)}
                if isinstance(data, Mapping)
                else {}
            )
            names.update(data=data, item=data)
            try:
                ok = bool(cond(**names))
            except ExpressionError as exc:
                ok, source = False, f"{source} ({exc})"
            if add(None if ok else f"Rule failed: {source}"):
                return errors
        if isinstance(data, Mapping):
            for field in self.required:
                if field not in data and add(f"Required field '{field}' is missing"):
                    return errors
            for field, value in data.items():
                if field in self.field_rules:
                    if add(_run_check(self.field_rules[field], value, str(field))):
                        return errors
                elif not self.allow_extra and add(f"Unexpected field '{field}'"):
                    return errors
        elif isinstance(data, (list, tuple)) and "items" in self.field_rules:
            for i, item in enumerate(data):
                if add(_run_check(self.field_rules["items"], item, f"items[{i}]")):
                    return errors
        elif "value" in self.field_rules:
            add(_run_check(self.field_rules["value"], data, "value"))
        return errors

    def logic(self, input: list[Payload], ctx: ActivationContext) -> None:
        if self.schema_mode is not None:
            self.schema_mode.logic(input, ctx)
            return
        for payload in input:
            data = payload["data"] if "data" in payload else payload
            errors = self.errors(data)
            if errors:
                ctx.emit("invalid", errors=errors, data=data)
            else:
                ctx.emit("valid", validated_data=data)


_SCHEMA_TYPES = ("auto", "jsonschema", "pydantic", "custom")


def _is_pydantic_model(schema: Any) -> bool:
    try:
        from pydantic import BaseModel
    except ImportError:  # pragma: no cover - pydantic comes with the server extra
        return False
    return isinstance(schema, type) and issubclass(schema, BaseModel)


def _json_schema_validator(schema: Mapping[str, Any]) -> Any:
    try:
        import jsonschema
    except ImportError:  # pragma: no cover - part of the 'validation' extra
        raise ValueError(
            "SchemaValidator: a JSON Schema needs the jsonschema package: pip install 'routilux_nb[validation]'"
        ) from None
    cls = jsonschema.validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ValueError(f"SchemaValidator: invalid JSON Schema: {exc.message}") from None
    return cls(schema)


@registry.register("schema_validator", "SchemaValidator")
class SchemaValidator(ConfiguredRoutine):
    """Validate whole payloads against a schema; emit ``valid(validated_data, schema_type)`` or
    ``invalid(errors, original_data, schema_type)``.

    Config:
        ``schema``: a JSON Schema (a mapping: usable in the DSL), or from Python a pydantic
        model class or a callable returning a bool or ``(ok, errors)``. Without a schema every
        payload is valid.
        ``schema_type``: ``auto`` (default: guessed from ``schema``), ``jsonschema``,
        ``pydantic`` or ``custom``.
        ``strict_mode`` (bool): report only the first error.
        ``coerce_types`` (bool, default true): pydantic may convert types (``"3"`` -> ``3``).
        ``custom_validators``: ``{field: rule}`` checked too (rules as in :class:`DataValidator`).

    >>> SchemaValidator(schema={"type": "object", "required": ["id"]}).validate({})
    (False, ["root: 'id' is a required property"], {})
    """

    slots = ["input"]
    events = ["valid", "invalid"]

    def setup(self) -> None:
        cfg = self.config
        schema = cfg.get("schema")
        kind = cfg.get("schema_type", "auto")
        if kind not in _SCHEMA_TYPES:
            raise ValueError(
                f"SchemaValidator: unknown schema_type {kind!r}; allowed: {', '.join(_SCHEMA_TYPES)}"
            )
        if kind == "auto":
            if schema is None:
                kind = "none"
            elif _is_pydantic_model(schema):
                kind = "pydantic"
            elif isinstance(schema, Mapping):
                kind = "jsonschema"
            elif callable(schema):
                kind = "custom"
            else:
                raise ValueError(
                    f"SchemaValidator: config 'schema' must be a JSON Schema mapping, a pydantic model or "
                    f"a callable, got {type(schema).__name__} {schema!r}"
                )
        self.schema_type = kind
        self._json = None
        if kind == "jsonschema":
            if not isinstance(schema, Mapping):
                raise ValueError(
                    f"SchemaValidator: schema_type 'jsonschema' needs a mapping, got {schema!r}"
                )
            self._json = _json_schema_validator(schema)
        elif kind == "pydantic" and not _is_pydantic_model(schema):
            raise ValueError(
                f"SchemaValidator: schema_type 'pydantic' needs a pydantic model class, got {schema!r}"
            )
        elif kind == "custom" and not callable(schema):
            raise ValueError(
                f"SchemaValidator: schema_type 'custom' needs a callable, got {schema!r}"
            )
        self.schema: Any = schema
        self.strict = _bool_flag("SchemaValidator", "strict_mode", cfg.get("strict_mode", False))
        self.coerce = _bool_flag("SchemaValidator", "coerce_types", cfg.get("coerce_types", True))
        extra = cfg.get("custom_validators") or {}
        if not isinstance(extra, Mapping):
            raise ValueError(
                f"SchemaValidator: config 'custom_validators' must be a mapping, got {extra!r}"
            )
        self.field_checks = {
            str(f): _field_check("SchemaValidator", str(f), r) for f, r in extra.items()
        }

    def validate(self, data: Any) -> tuple[bool, list[str], Any]:
        """``(ok, errors, validated_data)`` for one payload."""
        errors: list[str] = []
        validated = data
        if self._json is not None:
            found = sorted(
                self._json.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]
            )
            for err in found:
                path = ".".join(str(p) for p in err.absolute_path) or "root"
                errors.append(f"{path}: {err.message}")
        elif self.schema_type == "pydantic":
            from pydantic import ValidationError

            try:
                model = (
                    self.schema.model_validate(data)
                    if self.coerce
                    else self.schema.model_validate(data, strict=True)
                )
                validated = model.model_dump()
            except ValidationError as exc:
                errors = [
                    f"{'.'.join(str(x) for x in e['loc']) or 'root'}: {e['msg']}"
                    for e in exc.errors()
                ]
        elif self.schema_type == "custom":
            try:
                result = self.schema(data)
            except Exception as exc:  # the validator's failure is the payload's error
                result = (False, [f"Validator error: {exc}"])
            if isinstance(result, tuple) and len(result) == 2:
                ok, errs = result
                if not ok:
                    errors = (
                        [str(e) for e in errs] if isinstance(errs, (list, tuple)) else [str(errs)]
                    )
                    errors = errors or ["Validation failed"]
            elif not result:
                errors = ["Validation failed"]
        if isinstance(data, Mapping):
            for field, check in self.field_checks.items():
                if field in data:
                    message = _run_check(check, data[field], field)
                    if message:
                        errors.append(message)
        if self.strict:
            errors = errors[:1]
        return not errors, errors, validated

    def logic(self, input: list[Payload], ctx: ActivationContext) -> None:
        for payload in input:
            ok, errors, validated = self.validate(payload)
            if ok:
                ctx.emit("valid", validated_data=validated, schema_type=self.schema_type)
            else:
                ctx.emit(
                    "invalid", errors=errors, original_data=payload, schema_type=self.schema_type
                )
