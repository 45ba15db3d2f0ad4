"""The dashboard's Artifacts tab: a click on a job shows its artifacts (a DataFrame's head, a
figure's image, the rest by name, kind and size), with download links only while the HTTP
server runs; the synced state carries the list."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

import routilux_nb as rx
from routilux_nb.notebook import live
from routilux_nb.notebook.widgets import Dashboard

WAIT = 10.0


def until(predicate: Callable[[], Any], timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.01)
    return value


def reporting_flow() -> rx.Flow:
    flow = rx.Flow("report")

    @flow.routine(slots=["input"], events=[])
    def report(input, ctx):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        frame = pd.DataFrame({"x": [1, 2, 3], "y": [0.5, 1.5, 2.5]})
        ctx.artifact("table", frame)
        fig, ax = plt.subplots(figsize=(2, 2))
        ax.plot(frame["x"], frame["y"])
        ctx.artifact("plot", fig)
        plt.close(fig)
        ctx.artifact("notes", "all good")

    return flow


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[rx.Runtime]:
    runtime = rx.Runtime(store=tmp_path / "jobs.db")
    yield runtime
    runtime.shutdown()


def click(board: Dashboard, job_id: str) -> None:
    """A click on the job's line in the Jobs tab, as the front end sends it."""
    board.job_progress._handle_custom_msg({"type": "select", "job_id": job_id}, [])


def test_a_clicked_job_shows_its_artifacts_and_links_only_while_served(rt: rx.Runtime) -> None:
    worker = rt.start(reporting_flow())
    board = live.dashboard(worker)
    try:
        assert board.artifacts.get_state()["artifacts"] == []
        job = worker.submit(data={}).wait(WAIT)
        assert job.status == "completed", job.error
        until(lambda: job.job_id in board.job_progress.jobs)
        click(board, job.job_id)
        assert board.job_progress.selected == job.job_id
        assert board.tabs.selected_index == 4  # the Artifacts tab comes forward
        state = board.artifacts.get_state()
        assert state["job_id"] == job.job_id
        shown = [(a["name"], a["kind"], a["download_url"]) for a in state["artifacts"]]
        assert shown == [
            ("table", "dataframe", None),
            ("plot", "figure", None),
            ("notes", "text", None),
        ]
        assert [a["artifact_id"] for a in state["artifacts"]] == [
            a.artifact_id for a in job.artifacts
        ]
        html = state["value"]
        assert "<table" in html and "3 rows × 2 columns" in html  # the DataFrame's head
        assert "data:image/png;base64,iVBOR" in html  # the figure as a PNG
        assert "notes" in html and "download" not in html  # no server: no link

        server = rt.serve(port=0)
        try:
            click(board, job.job_id)
            entries = board.artifacts.get_state()["artifacts"]
            notes = next(a for a in entries if a["name"] == "notes")
            assert notes["download_url"].startswith(server.url)
            assert f'href="{notes["download_url"]}"' in board.artifacts.value
            got = httpx.get(notes["download_url"], timeout=WAIT)
            assert got.status_code == 200 and got.text == "all good"
        finally:
            server.stop()
        click(board, "")
        assert board.artifacts.get_state()["artifacts"] == []
    finally:
        board.close()


def test_a_dashboard_of_a_job_starts_on_that_job_and_follows_new_artifacts(
    rt: rx.Runtime,
) -> None:
    import threading

    gate = threading.Event()
    flow = rx.Flow("slow")

    @flow.routine(slots=["input"], events=[])
    def work(input, ctx):
        ctx.artifact("first", "1")
        assert gate.wait(WAIT)
        ctx.artifact("second", "2")

    job = rt.submit(flow, data={})
    until(lambda: len(job.artifacts) == 1)
    board = rx.dashboard(job)
    try:
        assert board.job_progress.selected == job.job_id
        assert [a["name"] for a in board.artifacts.artifacts] == ["first"]
        gate.set()
        job.wait(WAIT)
        until(lambda: [a["name"] for a in board.artifacts.artifacts] == ["first", "second"])
    finally:
        board.close()
