"""Artifacts: results a routine attaches to its job with ``ctx.artifact(name, obj)``.

An artifact is one file in an artifact folder (beside the job store's database, or a
temporary folder for a runtime without a store) plus a small JSON description. What can be
attached, and what :meth:`Artifact.load` gives back:

=====================  ===================================  ===========================
attached               stored as                            loaded back as
=====================  ===================================  ===========================
``str``                text (UTF-8)                         ``str``
``bytes``              bytes                                ``bytes``
a ``pathlib.Path``     a copy of that file                  ``bytes``
pandas DataFrame       Parquet (pyarrow present) else CSV   DataFrame
matplotlib Figure      PNG                                  :class:`PngImage`
dict / list            JSON                                 dict / list
=====================  ===================================  ===========================

Every file lives at ``<folder>/<job_id>/<artifact_id><suffix>`` (its description beside it,
``<artifact_id>.meta.json``): the path is built from ids
the store makes and checks, never from the artifact's name, and every read checks that the
path is inside the folder. An artifact over ``max_bytes`` is refused with a clear error.

>>> import tempfile
>>> store = ArtifactStore(tempfile.mkdtemp())
>>> art = store.save("job-1", "notes", "hello", routine_id="r")
>>> art.kind, art.content_type, store.load(art.artifact_id)
('text', 'text/plain; charset=utf-8', 'hello')
"""

from __future__ import annotations

import io
import json
import re
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from routilux_nb.core.clock import iso
from routilux_nb.core.errors import RoutiluxError
from routilux_nb.core.ids import check_id

__all__ = ["DEFAULT_MAX_BYTES", "Artifact", "ArtifactError", "ArtifactStore", "PngImage"]

#: the largest artifact accepted by default (bytes)
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_META = ".meta.json"


class ArtifactError(RoutiluxError, ValueError):
    """An artifact could not be attached (unsupported object, too large, bad name)."""


class PngImage:
    """A PNG loaded back from an artifact (a figure): ``.data`` holds the bytes; shows in notebooks."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def _repr_png_(self) -> bytes:
        return self.data

    def __repr__(self) -> str:
        return f"PngImage({len(self.data)} bytes)"


@dataclass(frozen=True)
class Artifact:
    """What is known of one stored artifact; ``to_dict()`` is what the HTTP API answers."""

    artifact_id: str
    job_id: str
    name: str
    kind: str
    content_type: str
    filename: str
    size: int
    created_at: float
    routine_id: str | None = None
    suffix: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("suffix")
        d["created_at"] = iso(self.created_at)
        return d


def _encode(name: str, obj: Any) -> tuple[str, str, str, bytes]:
    """``(kind, content type, suffix, bytes)`` for an attached object."""
    if isinstance(obj, str):
        return "text", "text/plain; charset=utf-8", ".txt", obj.encode("utf-8")
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return "bytes", "application/octet-stream", ".bin", bytes(obj)
    if isinstance(obj, Path):
        if not obj.is_file():
            raise ArtifactError(f"artifact {name!r}: {obj} is not a file")
        suffix = obj.suffix if _SAFE.sub("", obj.suffix) == obj.suffix else ""
        return "file", "application/octet-stream", suffix, obj.read_bytes()
    if (
        type(obj).__module__.startswith("pandas")
        and hasattr(obj, "to_csv")
        and hasattr(obj, "columns")
    ):
        try:
            buffer = io.BytesIO()
            obj.to_parquet(buffer)
            return "dataframe", "application/vnd.apache.parquet", ".parquet", buffer.getvalue()
        except ImportError:
            return (
                "dataframe",
                "text/csv; charset=utf-8",
                ".csv",
                obj.to_csv(index=True).encode("utf-8"),
            )
    if hasattr(obj, "savefig") and type(obj).__module__.startswith("matplotlib"):
        buffer = io.BytesIO()
        obj.savefig(buffer, format="png")
        return "figure", "image/png", ".png", buffer.getvalue()
    if isinstance(obj, (dict, list)):
        try:
            text = json.dumps(obj, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ArtifactError(
                f"artifact {name!r}: a dict/list artifact must be plain JSON ({exc})"
            ) from None
        return "json", "application/json", ".json", text.encode("utf-8")
    raise ArtifactError(
        f"artifact {name!r}: cannot store a {type(obj).__name__}; attach a str, bytes, a pathlib.Path "
        "of a file, a pandas DataFrame, a matplotlib Figure or a JSON dict/list"
    )


def _decode(art: Artifact, data: bytes) -> Any:
    if art.kind == "text":
        return data.decode("utf-8")
    if art.kind == "json":
        return json.loads(data)
    if art.kind == "figure":
        return PngImage(data)
    if art.kind == "dataframe":
        import pandas as pd

        if art.suffix == ".parquet":
            return pd.read_parquet(io.BytesIO(data))
        return pd.read_csv(io.BytesIO(data), index_col=0)
    return data


class ArtifactStore:
    """Artifacts in ``folder`` (created if missing); ``temporary=True`` removes it at :meth:`close`."""

    def __init__(
        self, folder: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES, temporary: bool = False
    ) -> None:
        self.folder = Path(folder).resolve()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.temporary = temporary
        self._lock = threading.Lock()
        self._index: dict[str, Artifact] = {}
        for meta in self.folder.glob(f"*/*{_META}"):
            try:
                art = Artifact(**json.loads(meta.read_text("utf-8")))
            except (ValueError, TypeError):
                continue  # not one of ours
            self._index[art.artifact_id] = art

    @classmethod
    def temporary_store(cls, **options: Any) -> ArtifactStore:
        return cls(tempfile.mkdtemp(prefix="routilux-artifacts-"), temporary=True, **options)

    def _path(self, art: Artifact, suffix: str) -> Path:
        path = (
            self.folder / check_id(art.job_id, "job id") / f"{art.artifact_id}{suffix}"
        ).resolve()
        if self.folder not in path.parents:
            raise ArtifactError(f"artifact {art.artifact_id!r} points outside the artifact folder")
        return path

    def save(self, job_id: str, name: str, obj: Any, *, routine_id: str | None = None) -> Artifact:
        """Store ``obj`` as an artifact of ``job_id`` named ``name``; returns its description."""
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise ArtifactError(
                f"an artifact name must be a non-empty string of at most 200 characters, got {name!r}"
            )
        kind, content_type, suffix, data = _encode(name, obj)
        if len(data) > self.max_bytes:
            raise ArtifactError(
                f"artifact {name!r} is {len(data):,} bytes, over the limit of {self.max_bytes:,} bytes "
                "(ArtifactStore(max_bytes=...) raises it)"
            )
        filename = (_SAFE.sub("_", name).strip("._") or "artifact")[:100]
        if suffix and not filename.endswith(suffix):
            filename += suffix
        art = Artifact(
            uuid.uuid4().hex,
            job_id,
            name,
            kind,
            content_type,
            filename,
            len(data),
            time.time(),
            routine_id,
            suffix,
        )
        path = self._path(art, suffix)
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        self._path(art, _META).write_text(json.dumps(asdict(art)), "utf-8")
        with self._lock:
            self._index[art.artifact_id] = art
        return art

    def get(self, artifact_id: str) -> Artifact:
        with self._lock:
            art = self._index.get(artifact_id)
        if art is None:
            raise KeyError(f"no artifact {artifact_id!r}")
        return art

    def for_job(self, job_id: str) -> list[Artifact]:
        """The job's artifacts, oldest first."""
        with self._lock:
            found = [a for a in self._index.values() if a.job_id == job_id]
        return sorted(found, key=lambda a: a.created_at)

    def read_bytes(self, artifact_id: str) -> tuple[Artifact, bytes]:
        art = self.get(artifact_id)
        return art, self._path(art, art.suffix).read_bytes()

    def load(self, artifact_id: str) -> Any:
        """The artifact as its Python type (see the module docstring)."""
        art, data = self.read_bytes(artifact_id)
        return _decode(art, data)

    def delete(self, artifact_id: str) -> Artifact:
        art = self.get(artifact_id)
        for suffix in (art.suffix, _META):
            self._path(art, suffix).unlink(missing_ok=True)
        with self._lock:
            self._index.pop(artifact_id, None)
        return art

    def close(self) -> None:
        if self.temporary:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __repr__(self) -> str:
        return f"ArtifactStore(folder={str(self.folder)!r}, artifacts={len(self._index)})"
