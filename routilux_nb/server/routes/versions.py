"""Flow versions: every definition a flow id has had, newest first (see ``core/versions.py``)."""

from __future__ import annotations

from fastapi import APIRouter, Path, Query, Request

from ..deps import api_base, flow_or_404, get_runtime
from ..errors import ApiError, ApiJSONResponse, respond
from ..models import FlowCreateRequest
from .flows import _flow_dict, load_dsl

__all__ = ["router"]

router = APIRouter(tags=["flows"])
_R = ApiJSONResponse
_ID = Path(..., min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


def _versions_or_404(request: Request, flow_id: str) -> list:
    versions = get_runtime(request).flow_versions.list(flow_id)
    if not versions:
        raise ApiError(
            404,
            "FLOW_NOT_FOUND",
            f"Flow {flow_id!r} has no versions (it was never registered)",
            {"flow_id": flow_id},
        )
    return versions


@router.get("/flows/{flow_id}/versions", response_class=_R, summary="List a flow's versions")
def list_flow_versions(
    request: Request,
    flow_id: str = _ID,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
) -> ApiJSONResponse:
    """Newest first: ``version``, ``created_at``, ``digest``, the ``dsl`` (YAML) and its ``definition``."""
    versions = _versions_or_404(request, flow_id)
    page = versions[offset : offset + limit]
    return respond(
        {
            "flow_id": flow_id,
            "items": [v.to_dict() for v in page],
            "total": len(versions),
            "limit": limit,
            "offset": offset,
        }
    )


@router.get(
    "/flows/{flow_id}/versions/{version}", response_class=_R, summary="Get one version of a flow"
)
def get_flow_version(
    request: Request, flow_id: str = _ID, version: int = Path(..., ge=1)
) -> ApiJSONResponse:
    versions = _versions_or_404(request, flow_id)
    for v in versions:
        if v.version == version:
            return respond(v.to_dict())
    raise ApiError(
        404,
        "VERSION_NOT_FOUND",
        f"Flow {flow_id!r} has no version {version}",
        {"flow_id": flow_id, "versions": [v.version for v in versions]},
    )


@router.put(
    "/flows/{flow_id}",
    response_class=_R,
    summary="Update a flow (a changed definition is a new version)",
)
def update_flow(request: Request, body: FlowCreateRequest, flow_id: str = _ID) -> ApiJSONResponse:
    """Replace the flow's definition. Running workers keep the version they started with; new
    submissions run the new one. An unchanged definition keeps the current version."""
    rt = get_runtime(request)
    flow_or_404(rt, flow_id)
    if body.flow_id is not None and body.flow_id != flow_id:
        raise ApiError(
            422,
            "VALIDATION_ERROR",
            f"the body names flow {body.flow_id!r}, the path {flow_id!r}",
            {"flow_id": flow_id},
        )
    flow = load_dsl(body.dsl, body.dsl_dict, flow_id)
    if flow.flow_id != flow_id:
        raise ApiError(
            422,
            "VALIDATION_ERROR",
            f"the definition names flow {flow.flow_id!r}, the path {flow_id!r}",
            {"flow_id": flow_id},
        )
    rt.register_flow(flow, replace=True)
    d = _flow_dict(api_base(request), flow)
    d["version"] = rt.version_of(flow)
    return respond(d)
