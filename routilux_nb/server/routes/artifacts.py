"""Artifacts: what routines attached to their jobs (``ctx.artifact``), listed, read and deleted.

Every read goes through the runtime's artifact store, which resolves an artifact by its id and
checks that the file is inside its folder: no route takes a path.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from ..deps import get_runtime, job_or_404
from ..errors import ApiError, ApiJSONResponse, respond

__all__ = ["router"]

router = APIRouter(tags=["artifacts"])
_R = ApiJSONResponse
_ID = Path(..., min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_ARTIFACT_ID = Path(..., min_length=32, max_length=32, pattern=r"^[0-9a-f]{32}$")


def _artifact_or_404(request: Request, artifact_id: str) -> Any:
    try:
        return get_runtime(request).artifacts.get(artifact_id)
    except KeyError:
        raise ApiError(
            404,
            "ARTIFACT_NOT_FOUND",
            f"Artifact {artifact_id!r} not found",
            {"artifact_id": artifact_id},
        ) from None


def _links(request: Request, art: Any) -> dict[str, Any]:
    d = art.to_dict()
    base = str(request.url_for("get_artifact", artifact_id=art.artifact_id))
    d["_links"] = {"self": base, "download": base + "/download"}
    return d


@router.get("/jobs/{job_id}/artifacts", response_class=_R, summary="List a job's artifacts")
def list_job_artifacts(request: Request, job_id: str = _ID) -> ApiJSONResponse:
    """The artifacts a job's routines attached, oldest first."""
    rt = get_runtime(request)
    job_or_404(rt, job_id)
    items = [_links(request, a) for a in rt.artifacts.for_job(job_id)]
    return respond({"job_id": job_id, "artifacts": items, "total": len(items)})


@router.get(
    "/artifacts/{artifact_id}",
    response_class=_R,
    name="get_artifact",
    summary="Describe an artifact",
)
def get_artifact(request: Request, artifact_id: str = _ARTIFACT_ID) -> ApiJSONResponse:
    return respond(_links(request, _artifact_or_404(request, artifact_id)))


@router.get(
    "/artifacts/{artifact_id}/download",
    summary="Download an artifact's content",
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download_artifact(request: Request, artifact_id: str = _ARTIFACT_ID) -> Response:
    """The artifact's bytes with its content type and a ``Content-Disposition`` naming its file."""
    art = _artifact_or_404(request, artifact_id)
    _, data = get_runtime(request).artifacts.read_bytes(artifact_id)
    return Response(
        data,
        media_type=art.content_type,
        headers={"Content-Disposition": f'attachment; filename="{art.filename}"'},
    )


@router.delete("/artifacts/{artifact_id}", response_class=_R, summary="Delete an artifact")
def delete_artifact(request: Request, artifact_id: str = _ARTIFACT_ID) -> ApiJSONResponse:
    art = _artifact_or_404(request, artifact_id)
    get_runtime(request).artifacts.delete(artifact_id)
    return respond({"deleted": True, "artifact_id": art.artifact_id, "job_id": art.job_id})
