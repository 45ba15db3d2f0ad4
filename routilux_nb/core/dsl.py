"""The flow DSL: YAML or JSON, in the original Routilux format.

.. code-block:: yaml

    flow_id: etl
    routines:
      source: {class: data_source, config: {items: [1, 2, 3]}}
      double:
        class: mapper
        error_handler: {strategy: retry, max_retries: 2}
      sink: {class: collector}
    connections:
      - {from: source.output, to: double.input}
      - {from: double.output, to: sink.input}
    execution: {timeout: 60}

Class names resolve through the :data:`~routilux_nb.core.registry.registry` only: loading a
flow never imports a module and never evaluates code. ``dump(load(text))`` gives back the same
document (keys in canonical order); ``load(dump(flow))`` gives an equal flow, or refuses.

* ``flow_id`` is optional: without it the id is ``flow_`` followed by the first 12 hex digits
  of the SHA-256 of the document (canonical JSON), so loading the same document twice gives
  the same id.
* A function routine is written as ``class: "function:<flow_id>/<routine_id>"`` and loads
  only the function registered under exactly that reference (``@flow.routine`` registers
  it); it never resolves to a built-in or to another flow's function of the same name.
* A custom activation policy is written as ``{type: custom, config: {check: <name>}}``, the
  name its check is registered under (:meth:`Registry.add_check`); an unnamed check is
  registered as ``<flow_id>/<routine_id>`` by the export. Loading a name nobody registered
  is an error naming what to register, never a silent ``immediate``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import yaml

from . import limits
from .error_handling import ErrorHandler
from .errors import DSLError, FlowError, RegistryError
from .flow import Flow
from .ids import InvalidIdError, check_id
from .jsonsafe import to_jsonable
from .policies import ActivationPolicy, custom
from .registry import registry
from .routine import FunctionRoutine, Routine

__all__ = [
    "dump_json",
    "dump_yaml",
    "flow_from_dict",
    "flow_to_dict",
    "generated_flow_id",
    "load",
    "load_json",
    "load_yaml",
]

_ROUTINE_KEYS = {"class", "config", "error_handler", "activation_policy"}
_TOP_KEYS = ("flow_id", "routines", "connections", "execution", "error_handler")


def _routine_lines(text: str) -> dict[str, int]:
    """Line numbers (1-based) of each routine id and of each connection, for error messages."""
    lines: dict[str, int] = {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines
    if not isinstance(root, yaml.MappingNode):
        return lines
    for key, value in root.value:
        if key.value == "routines" and isinstance(value, yaml.MappingNode):
            for rk, _ in value.value:
                lines[f"routine:{rk.value}"] = rk.start_mark.line + 1
        if key.value == "connections" and isinstance(value, yaml.SequenceNode):
            for i, item in enumerate(value.value):
                lines[f"connection:{i}"] = item.start_mark.line + 1
    return lines


def load_yaml(text: str) -> Flow:
    """Parse a YAML flow definition; syntax errors name the line and the reason."""
    try:
        spec = limits.load_yaml(text)
    except limits.DocumentLimitError as exc:
        raise DSLError(exc.reason, exc.line) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        reason = getattr(exc, "problem", None) or str(exc)
        raise DSLError(f"invalid YAML: {reason}", mark.line + 1 if mark else None) from None
    return flow_from_dict(spec, _lines=_routine_lines(text))


def load_json(text: str) -> Flow:
    """Parse a JSON flow definition; syntax errors name the line and the reason."""
    try:
        spec = limits.load_json(text)
    except limits.DocumentLimitError as exc:
        raise DSLError(exc.reason) from None
    except json.JSONDecodeError as exc:
        raise DSLError(f"invalid JSON: {exc.msg} (column {exc.colno})", exc.lineno) from None
    return flow_from_dict(spec)


def load(text: str) -> Flow:
    """YAML or JSON (JSON is YAML, but JSON errors read better from the JSON parser)."""
    return load_json(text) if text.lstrip().startswith("{") else load_yaml(text)


def flow_from_dict(spec: Any, *, _lines: Mapping[str, int] | None = None) -> Flow:
    """Build a flow from the DSL's dict shape."""
    lines = _lines or {}
    if not isinstance(spec, Mapping):
        raise DSLError(
            f"a flow definition must be a mapping with flow_id, routines, connections; got {type(spec).__name__}"
        )
    flow_id = spec.get("flow_id")
    if flow_id is None:
        flow_id = generated_flow_id(spec)
    elif not flow_id or not isinstance(flow_id, str):
        raise DSLError(
            f"'flow_id' must be a non-empty string (or left out to generate one), got {flow_id!r}",
            1 if lines else None,
        )
    try:
        check_id(flow_id, "flow_id")
    except InvalidIdError as exc:
        raise DSLError(str(exc), 1 if lines else None) from None
    if isinstance(spec.get("routines"), Mapping):
        for rid in spec["routines"]:
            try:
                check_id(str(rid), "routine id")
            except InvalidIdError as exc:
                raise DSLError(str(exc), lines.get(f"routine:{rid}")) from None
    execution = spec.get("execution") or {}
    if not isinstance(execution, Mapping):
        raise DSLError("'execution' must be a mapping (e.g. {timeout: 60})")
    try:
        flow = Flow(
            flow_id,
            execution_timeout=execution.get("timeout"),
            error_handler=spec.get("error_handler"),
        )
    except ValueError as exc:
        raise DSLError(str(exc)) from None
    flow.execution = dict(execution)
    routines = spec.get("routines") or {}
    if not isinstance(routines, Mapping):
        raise DSLError("'routines' must be a mapping of routine id to {class, config}")
    for rid, rspec in routines.items():
        flow.add_routine(_routine_from_spec(str(rid), rspec, lines.get(f"routine:{rid}")), str(rid))
    connections = spec.get("connections") or []
    if not isinstance(connections, list):
        raise DSLError("'connections' must be a list of {from: routine.event, to: routine.slot}")
    for i, cspec in enumerate(connections):
        line = lines.get(f"connection:{i}")
        if not isinstance(cspec, Mapping) or "from" not in cspec or "to" not in cspec:
            raise DSLError(
                f"connection {i} must be a mapping with 'from' and 'to', got {cspec!r}", line
            )
        try:
            flow.connect(str(cspec["from"]), str(cspec["to"]))
        except (FlowError, ValueError) as exc:
            raise DSLError(f"connection {i}: {exc}", line) from None
    return flow


def generated_flow_id(spec: Mapping[str, Any]) -> str:
    """The id of a flow document without ``flow_id``: ``flow_`` + 12 hex digits of its hash."""
    canonical = json.dumps(
        to_jsonable({k: v for k, v in spec.items() if k != "flow_id"}), sort_keys=True
    )
    return "flow_" + hashlib.sha256(canonical.encode()).hexdigest()[:12]


def _policy(spec: Any) -> ActivationPolicy | Any:
    """A custom policy's check comes from the registry, by name; other specs pass through."""
    if isinstance(spec, Mapping) and spec.get("type") == "custom":
        name = (
            (spec.get("config") or {}).get("check")
            if isinstance(spec.get("config"), Mapping)
            else None
        )
        if not isinstance(name, str) or not name:
            raise ValueError(
                "a custom activation policy needs config.check: the name its check is "
                "registered under (registry.add_check(name, fn))"
            )
        return custom(registry.get_check(name))
    return spec


def _routine_from_spec(rid: str, rspec: Any, line: int | None) -> Routine:
    if not isinstance(rspec, Mapping) or "class" not in rspec:
        raise DSLError(f"routine {rid!r} must be a mapping with a 'class'", line)
    unknown = set(rspec) - _ROUTINE_KEYS
    if unknown:
        raise DSLError(
            f"routine {rid!r}: unknown keys {sorted(unknown)}; known: {sorted(_ROUTINE_KEYS)}", line
        )
    config = rspec.get("config") or {}
    if not isinstance(config, Mapping):
        raise DSLError(f"routine {rid!r}: 'config' must be a mapping", line)
    exported = _exported_callable(config)
    if exported is not None:
        key, shown = exported
        raise DSLError(
            f"routine {rid!r}: config {key!r} was a Python callable ({shown}) when the flow was exported; "
            "a flow document cannot carry code: set it from Python after loading, or register a routine "
            "class (or a function routine) with that behaviour and name it in 'class'",
            line,
        )
    try:
        factory = registry.get(str(rspec["class"]))
        routine = factory(routine_id=rid, config=dict(config))
        if rspec.get("error_handler") is not None:
            routine.set_error_handler(rspec["error_handler"])
        if rspec.get("activation_policy") is not None:
            routine.set_activation_policy(_policy(rspec["activation_policy"]))
    except RegistryError as exc:
        raise DSLError(f"routine {rid!r}: {exc}", line) from None
    except (ValueError, TypeError) as exc:
        raise DSLError(f"routine {rid!r}: {exc}", line) from None
    return routine


def _exported_callable(value: Any, path: str = "") -> tuple[str, str] | None:
    """The config key holding what the export writes for a callable (``<callable name>``)."""
    if isinstance(value, str):
        return (path, value) if value.startswith("<callable ") and value.endswith(">") else None
    items = (
        value.items()
        if isinstance(value, Mapping)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, item in items:
        found = _exported_callable(item, f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None


def _class_name(routine: Routine, flow_id: str) -> str:
    if isinstance(routine, FunctionRoutine):
        ref = registry.function_ref_of(flow_id, routine)
        if ref is None:  # added without @flow.routine: make this exact function loadable here
            ref = registry.add_function(
                flow_id,
                routine.routine_id,
                routine.fn,
                slots=routine.slot_specs.values(),
                events=routine.event_specs.values(),
            )
        return ref
    return registry.name_of(type(routine)) or type(routine).__name__


def _policy_dict(policy: ActivationPolicy, flow_id: str, rid: str) -> dict[str, Any]:
    if policy.type != "custom":
        return {"type": policy.type, "config": policy.config}
    check = policy.check  # type: ignore[attr-defined]
    name = registry.check_name_of(check)
    if name is None:
        name = f"{flow_id}/{rid}"
        registry.add_check(name, check)
    return {"type": "custom", "config": {"check": name}}


def _fresh(routine: Routine, config: dict[str, Any]) -> Routine | None:
    """The routine its DSL entry alone would build (to leave out what it derives itself)."""
    try:
        if isinstance(routine, FunctionRoutine):
            return None
        name = registry.name_of(type(routine)) or type(routine).__name__
        return registry.get(name)(routine_id=routine.routine_id, config=dict(config))
    except Exception:  # not rebuildable from its name: write everything explicitly
        return None


def flow_to_dict(flow: Flow) -> dict[str, Any]:
    """The DSL dict of a flow (defaults left out, canonical key order)."""
    from .policies import immediate

    routines: dict[str, Any] = {}
    for rid, r in flow.routines.items():
        entry: dict[str, Any] = {"class": _class_name(r, flow.flow_id)}
        config = {k: v for k, v in r.config.items() if r.default_config.get(k, _MISSING) != v}
        if config:
            entry["config"] = to_jsonable(config)
        fresh = _fresh(r, config)
        default_handler = fresh.error_handler if fresh is not None else None
        if r.error_handler is not None and r.error_handler != default_handler:
            entry["error_handler"] = _handler_dict(r.error_handler)
        policy = r.activation_policy
        default_policy = fresh.activation_policy if fresh is not None else immediate()
        if policy != default_policy:
            entry["activation_policy"] = _policy_dict(policy, flow.flow_id, rid)
        routines[rid] = entry
    out: dict[str, Any] = {"flow_id": flow.flow_id, "routines": routines}
    out["connections"] = [{"from": c.source, "to": c.target} for c in flow.connections]
    execution = dict(flow.execution)
    if flow.execution_timeout is not None:
        execution["timeout"] = flow.execution_timeout
    else:
        execution.pop("timeout", None)
    if execution:
        out["execution"] = execution
    if flow.error_handler is not None:
        out["error_handler"] = _handler_dict(flow.error_handler)
    return out


_MISSING = object()


def _handler_dict(h: ErrorHandler) -> dict[str, Any]:
    default = ErrorHandler(h.strategy)
    d: dict[str, Any] = {"strategy": h.strategy}
    for key in ("max_retries", "retry_delay", "backoff", "is_critical"):
        if getattr(h, key) != getattr(default, key):
            d[key] = getattr(h, key)
    return d


def dump_yaml(flow: Flow) -> str:
    text: str = yaml.safe_dump(
        flow_to_dict(flow), sort_keys=False, allow_unicode=True, default_flow_style=False
    )
    return text


def dump_json(flow: Flow) -> str:
    return json.dumps(flow_to_dict(flow), indent=2)
