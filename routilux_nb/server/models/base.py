"""Building blocks of the API models: bounded JSON values, ids, request and response bases."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, create_model

from routilux_nb.core.ids import ID_MAX_LENGTH
from routilux_nb.core.limits import Limits, check_value

__all__ = [
    "BODY_LIMITS",
    "ID_REGEX",
    "EnabledRequest",
    "JsonObject",
    "JsonValue",
    "RequestModel",
    "ResponseModel",
    "fields_pattern",
    "id_field",
    "partial",
]

#: the id rule of :mod:`routilux_nb.core.ids`, as the schema states it
ID_REGEX = r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$"
#: bounds of every free-form JSON value of a request (job data, metadata, configs, values)
BODY_LIMITS = Limits(max_depth=32, max_nodes=100_000, max_chars=1_000_000)


def _bounded(value: Any) -> Any:
    return check_value(value, BODY_LIMITS, "value")


#: a JSON object whose depth and size are bounded when the request is parsed
JsonObject = Annotated[dict[str, Any], AfterValidator(_bounded)]
#: any JSON value, bounded the same way
JsonValue = Annotated[Any, AfterValidator(_bounded)]


def id_field(default: Any = ..., description: str | None = None) -> Any:
    """A new object's id: 1-128 characters from ``A-Z a-z 0-9 _ . -``, not starting with . or -."""
    return Field(
        default, min_length=1, max_length=ID_MAX_LENGTH, pattern=ID_REGEX, description=description
    )


class RequestModel(BaseModel):
    """Requests forbid unknown fields: a typo is answered with a 422 naming it."""

    model_config = ConfigDict(extra="forbid")


class ResponseModel(BaseModel):
    """Responses may carry more fields than listed."""

    model_config = ConfigDict(extra="allow")


class EnabledRequest(RequestModel):
    enabled: StrictBool


def fields_pattern(names: tuple[str, ...]) -> str:
    """The regular expression of a comma separated list of ``names``."""
    one = "(?:" + "|".join(names) + ")"
    return f"^{one}(?:,{one})*$"


def partial(model: type[BaseModel]) -> type[BaseModel]:
    """``model`` with every field optional: the shape of an answer narrowed by ``?fields=``."""
    fields: dict[str, Any] = {
        name: (info.annotation | None, Field(None, alias=info.alias))  # type: ignore[operator]
        for name, info in model.model_fields.items()
    }
    return create_model(f"Partial{model.__name__}", __config__=ConfigDict(extra="allow"), **fields)
