"""Artifacts: what routines attached to their jobs (``ctx.artifact``), listed, read and deleted.

Every read goes through the runtime's artifact store, which resolves an artifact by its id and
checks that the file is inside its folder: no route takes a path.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from routilux_nb.core.job import JobContext

from ..deps import artifact_path, get_runtime, job_path
from ..errors import ApiJSONResponse, respond
from ..store_models import (
    ARTIFACT_CONTENT_TYPES,
    ArtifactDeleteResponse,
    ArtifactListResponse,
    ArtifactResponse,
)

__all__ = ["router"]

router = APIRouter(tags=["artifacts"])
_R = ApiJSONResponse
_DOWNLOAD: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The artifact's bytes, with the content type it was stored with",
        "content": {
            ct: {
                "schema": {} if ct == "application/json" else {"type": "string", "format": "binary"}
            }
            for ct in ARTIFACT_CONTENT_TYPES
        },
        "headers": {
            "Content-Disposition": {
                "description": "attachment; the artifact's file name",
                "schema": {"type": "string"},
            }
        },
    }
}


def _links(request: Request, art: Any) -> dict[str, Any]:
    d: dict[str, Any] = art.to_dict()
    base = str(request.url_for("get_artifact", artifact_id=art.artifact_id))
    d["_links"] = {"self": base, "download": base + "/download"}
    return d


@router.get(
    "/jobs/{job_id}/artifacts",
    response_class=_R,
    responses={200: {"model": ArtifactListResponse}},
    summary="List a job's artifacts",
)
def list_job_artifacts(request: Request, *, job: JobContext = Depends(job_path)) -> ApiJSONResponse:
    """The artifacts a job's routines attached, oldest first."""
    items = [_links(request, a) for a in get_runtime(request).artifacts.for_job(job.job_id)]
    return respond({"job_id": job.job_id, "artifacts": items, "total": len(items)})


@router.get(
    "/artifacts/{artifact_id}",
    response_class=_R,
    responses={200: {"model": ArtifactResponse}},
    name="get_artifact",
    summary="Describe an artifact",
)
def get_artifact(request: Request, *, art: Any = Depends(artifact_path)) -> ApiJSONResponse:
    return respond(_links(request, art))


@router.get(
    "/artifacts/{artifact_id}/download",
    response_class=Response,
    responses=_DOWNLOAD,
    summary="Download an artifact's content",
)
def download_artifact(request: Request, *, art: Any = Depends(artifact_path)) -> Response:
    """The artifact's bytes with its content type and a ``Content-Disposition`` naming its file."""
    _, data = get_runtime(request).artifacts.read_bytes(art.artifact_id)
    return Response(
        data,
        media_type=art.content_type,
        headers={"Content-Disposition": f'attachment; filename="{art.filename}"'},
    )


@router.delete(
    "/artifacts/{artifact_id}",
    response_class=_R,
    responses={200: {"model": ArtifactDeleteResponse}},
    summary="Delete an artifact",
)
def delete_artifact(request: Request, *, art: Any = Depends(artifact_path)) -> ApiJSONResponse:
    get_runtime(request).artifacts.delete(art.artifact_id)
    return respond({"deleted": True, "artifact_id": art.artifact_id, "job_id": art.job_id})
