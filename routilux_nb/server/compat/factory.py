"""``/factory/objects``: the routine registry as the original server's object factory listed it
(name, description, category, tags, example config; slots and events per routine)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Query, Request

from routilux_nb import __version__
from routilux_nb.core.errors import RegistryError
from routilux_nb.core.jsonsafe import to_jsonable
from routilux_nb.core.registry import FUNCTION_PREFIX, registry
from routilux_nb.core.routine import Routine

from ..errors import ApiError, ApiJSONResponse, respond

__all__ = ["object_info", "router"]

router = APIRouter(tags=["factory"])


def _category(name: str, factory: Callable[..., Any]) -> str:
    if name.startswith(FUNCTION_PREFIX):
        return "function"
    module = getattr(factory, "__module__", "") or ""
    if module.startswith("routilux_nb.builtins."):
        return module.rsplit(".", 1)[-1]
    return "user"


def _description(factory: Callable[..., Any]) -> str:
    doc = inspect.getdoc(factory) or ""
    return doc.strip().split("\n\n", 1)[0].replace("\n", " ").replace("``", "")


def object_info(name: str, factory: Callable[..., Any], aliases: list[str]) -> dict[str, Any]:
    """One registry entry as the original's ``ObjectInfo``."""
    is_function = name.startswith(FUNCTION_PREFIX)
    defaults = getattr(factory, "default_config", None) or {}
    return {
        "name": name,
        "type": "function" if is_function else "class",
        "object_type": "routine",
        "description": _description(factory),
        "category": _category(name, factory),
        "tags": aliases,
        "example_config": to_jsonable(dict(defaults)),
        "version": __version__,
    }


def _entry(name: str) -> tuple[str, Callable[..., Any], list[str]]:
    for entry in registry.entries():
        if entry[0] == name:
            return entry
    try:
        factory = registry.get(name)
    except RegistryError as exc:
        raise ApiError(404, "OBJECT_NOT_FOUND", str(exc), {"name": name}) from None
    for entry in registry.entries():
        if entry[1] is factory:
            return entry
    return name, factory, []  # pragma: no cover - every factory has an entry


@router.get("/factory/objects", summary="Registered routines (the original's object factory)")
async def list_objects(
    category: str | None = Query(None, max_length=256),
    object_type: str | None = Query(None, max_length=64),
) -> ApiJSONResponse:
    """Every registered routine class (by its first name; other names in ``tags``) and function
    routine; ``object_type=flow`` lists nothing (flows live under ``/flows``)."""
    objects = [object_info(*e) for e in registry.entries()]
    if object_type is not None:
        objects = [o for o in objects if o["object_type"] == object_type]
    if category is not None:
        objects = [o for o in objects if o["category"] == category]
    return respond({"objects": objects, "total": len(objects)})


@router.get(
    "/factory/objects/{name:path}/interface",
    summary="Slots, events, policy and config of a routine",
)
async def object_interface(request: Request, name: str) -> ApiJSONResponse:
    entry_name, factory, _ = _entry(name)
    try:
        routine = factory(routine_id=entry_name.rsplit("/", 1)[-1])
    except Exception as exc:  # a factory needing config: say so instead of failing
        raise ApiError(
            422,
            "OBJECT_NEEDS_CONFIG",
            f"routine {entry_name!r} cannot be built without config: {exc}",
            {"name": entry_name},
        ) from None
    if not isinstance(routine, Routine):  # pragma: no cover - the registry holds routine factories
        raise ApiError(
            400, "NOT_A_ROUTINE", f"{entry_name!r} is not a routine", {"name": entry_name}
        )
    slots = [
        {"name": s.name, "max_queue_length": s.max_length, "watermark": s.watermark}
        for s in routine.slot_specs.values()
    ]
    events = [
        {"name": e.name, "output_params": list(e.params)} for e in routine.event_specs.values()
    ]
    return respond(
        {
            "name": entry_name,
            "type": "routine",
            "slots": slots,
            "events": events,
            "activation_policy": routine.activation_policy.describe(),
            "config": to_jsonable(routine.config),
        }
    )


@router.get("/factory/objects/{name:path}", summary="Metadata of a registered routine")
async def object_metadata(name: str) -> ApiJSONResponse:
    info = object_info(*_entry(name))
    return respond(
        {
            k: info[k]
            for k in ("name", "description", "category", "tags", "example_config", "version")
        }
        | {"type": info["type"], "object_type": info["object_type"]}
    )
