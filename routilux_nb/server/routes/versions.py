"""Flow versions: every definition a flow id has had, newest first (see ``core/versions.py``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Request

from routilux_nb.core.flow import Flow

from ..deps import Page, api_base, flow_path, flow_versions_path, get_runtime, paginate
from ..errors import ApiError, ApiJSONResponse, respond
from ..models import FlowCreateRequest
from ..store_models import FlowUpdateResponse, FlowVersionListResponse, FlowVersionResponse
from .flows import _flow_dict, load_dsl

__all__ = ["router"]

router = APIRouter(tags=["flows"])
_R = ApiJSONResponse


@router.get(
    "/flows/{flow_id}/versions",
    response_class=_R,
    responses={200: {"model": FlowVersionListResponse}},
    summary="List a flow's versions",
)
def list_flow_versions(
    request: Request,
    *,
    versions: list[Any] = Depends(flow_versions_path),
    page: Page = Depends(paginate),
) -> ApiJSONResponse:
    """Newest first: ``version``, ``created_at``, ``digest``, the ``dsl`` (YAML) and its ``definition``.
    A removed flow keeps its versions; an id never registered is a 404."""
    items = versions[page.offset : page.offset + page.limit]
    return respond(
        {
            "flow_id": versions[0].flow_id,
            "items": [v.to_dict() for v in items],
            "total": len(versions),
            "limit": page.limit,
            "offset": page.offset,
        }
    )


@router.get(
    "/flows/{flow_id}/versions/{version}",
    response_class=_R,
    responses={200: {"model": FlowVersionResponse}},
    summary="Get one version of a flow",
)
def get_flow_version(
    request: Request,
    *,
    versions: list[Any] = Depends(flow_versions_path),
    version: int = Path(..., ge=1, le=2**31, description="1 is the first version"),
) -> ApiJSONResponse:
    for v in versions:
        if v.version == version:
            return respond(v.to_dict())
    flow_id = versions[0].flow_id
    raise ApiError(
        404,
        "VERSION_NOT_FOUND",
        f"Flow {flow_id!r} has no version {version}",
        {"flow_id": flow_id, "version": version, "versions": [v.version for v in versions]},
    )


@router.put(
    "/flows/{flow_id}",
    response_class=_R,
    responses={200: {"model": FlowUpdateResponse}},
    summary="Update a flow (a changed definition is a new version)",
)
def update_flow(
    request: Request, *, flow: Flow = Depends(flow_path), body: FlowCreateRequest
) -> ApiJSONResponse:
    """The body of ``POST /flows``; the flow id it names, if any, must be the path's (else 422).
    Running workers keep the version they started with; new submissions run the new one. An
    unchanged definition keeps the current version."""
    flow_id = flow.flow_id
    if body.flow_id is None and body.dsl is None and body.dsl_dict is None:
        raise ApiError(
            422,
            "VALIDATION_ERROR",
            "give dsl or dsl_dict (the new definition), or flow_id for an empty flow",
            {"errors": [{"field": "dsl", "message": "Field required", "type": "missing"}]},
        )
    if body.flow_id is not None and body.flow_id != flow_id:
        raise ApiError(
            422,
            "VALIDATION_ERROR",
            f"the body names flow {body.flow_id!r}, the path {flow_id!r}",
            {"flow_id": flow_id, "body_flow_id": body.flow_id},
        )
    new = load_dsl(body.dsl, body.dsl_dict, flow_id)
    rt = get_runtime(request)
    rt.register_flow(new, replace=True)
    d = _flow_dict(api_base(request), new)
    d["version"] = rt.version_of(new)
    return respond(d)
