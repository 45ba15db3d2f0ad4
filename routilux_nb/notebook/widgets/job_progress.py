"""One compact line per job: id, status, elapsed time and per-routine counts.

Snapshots may list only the jobs that changed, so summaries are merged into
what is already shown; finished jobs stay visible until pushed out by newer
ones (``MAX_JOBS`` most recent by ``created_at``).
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Mapping
from typing import Any

import traitlets

from routilux_nb.monitor.types import SnapshotUpdate

from ._base import Callbacks, LockedWidget
from ._snapshot import jobs_of
from ._static import Picture, jobs_picture

__all__ = ["MAX_JOBS", "JobProgress"]

_HERE = pathlib.Path(__file__).parent
MAX_JOBS = 50


class JobProgress(LockedWidget):
    """Live list of recent jobs.

    >>> JobProgress()
    JobProgress(jobs=0)
    """

    _esm = _HERE / "job_progress.js"
    _css = _HERE / "job_progress.css"

    jobs = traitlets.Dict().tag(sync=True)
    #: the job clicked last ("" for none)
    selected = traitlets.Unicode("").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        self._select_callbacks = Callbacks()
        super().__init__(**kwargs)

    def __repr__(self) -> str:
        return f"JobProgress(jobs={len(self.jobs)})"

    def picture(self) -> Picture:
        """The static ``(html, png)``: one line per shown job."""
        return jobs_picture(self.jobs)

    def apply_snapshot(self, snapshot: SnapshotUpdate) -> list[str]:
        """Merge the snapshot's job summaries; returns the names of the traits that changed."""
        incoming = jobs_of(snapshot)
        if not incoming:
            return []
        with self._lock:
            merged = {**self.jobs, **incoming}
            order = {jid: i for i, jid in enumerate(merged)}
            newest = sorted(
                merged,
                key=lambda jid: (str(merged[jid].get("created_at") or ""), order[jid]),
                reverse=True,
            )[:MAX_JOBS]
            return self._update(jobs={jid: merged[jid] for jid in newest})

    def clear(self) -> None:
        """Forget all jobs."""
        self._update(jobs={})

    def select(self, job_id: str, *, notify: bool = True) -> None:
        """Select a job ("" clears the selection) and tell the ``on_select`` callbacks."""
        self._update(selected=str(job_id))
        if notify:
            self._select_callbacks(str(job_id))

    def on_select(self, callback: Callable[[str], Any], remove: bool = False) -> None:
        """Register ``callback(job_id)`` for a job being selected (a click on its line)."""
        self._select_callbacks.register(callback, remove)

    def _on_msg_select(self, content: Mapping[str, Any]) -> None:
        self.select(str(content.get("job_id") or ""))
