"""The dashboard's Artifacts tab: the artifacts of the job selected in the Jobs tab.

A plain ``ipywidgets.HTML`` (no JavaScript of its own) whose synced state also carries the
job's id and its artifact list, so a front end or a test can read what is shown.
"""

from __future__ import annotations

import threading
from typing import Any

import ipywidgets
import traitlets

from ..artifacts_html import artifact_entries, artifacts_panel

__all__ = ["ArtifactsPanel"]


class ArtifactsPanel(ipywidgets.HTML):  # type: ignore[misc]  # ipywidgets ships no type information
    """Artifacts of one job: DataFrame heads, figures, the rest by name, kind and size.

    >>> ArtifactsPanel()
    ArtifactsPanel(job_id='', artifacts=0)
    """

    #: the job shown ("" for none)
    job_id = traitlets.Unicode("").tag(sync=True)
    #: its artifacts (``artifact_id, name, kind, size, routine_id, content_type, download_url``)
    artifacts = traitlets.List(traitlets.Dict()).tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        self._lock = threading.RLock()
        super().__init__(**kwargs)
        self.value = artifacts_panel(None, "", [])

    def __repr__(self) -> str:
        return f"ArtifactsPanel(job_id={self.job_id!r}, artifacts={len(self.artifacts)})"

    def show(self, runtime: Any, job_id: str) -> None:
        """Show ``job_id``'s artifacts (read from ``runtime``'s artifact store)."""
        entries = artifact_entries(runtime, job_id)
        with self._lock:
            if job_id == self.job_id and entries == self.artifacts and self.value:
                return
            html = artifacts_panel(runtime, job_id, entries)
            with self.hold_sync():
                self.job_id, self.artifacts, self.value = job_id, entries, html
