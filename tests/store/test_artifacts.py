"""Artifacts attached by routines: each kind end to end, the size cap, the path guard, restarts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import routilux_nb  # noqa: F401
from routilux_nb.core import Flow, Runtime
from routilux_nb.store import ArtifactError, ArtifactStore
from routilux_nb.store.artifacts import PngImage


def reporting_flow(tmp_path: Path) -> Flow:
    flow = Flow("report")
    attachment = tmp_path / "raw.dat"
    attachment.write_bytes(b"\x00\x01raw")

    @flow.routine(slots=["input"], events=[])
    def report(input, ctx):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        frame = pd.DataFrame({"x": [1, 2, 3], "y": [0.5, 1.5, 2.5]}, index=["a", "b", "c"])
        ctx.artifact("table", frame)
        fig, ax = plt.subplots(figsize=(2, 2))
        ax.plot(frame["x"], frame["y"])
        ctx.artifact("plot", fig)
        plt.close(fig)
        ctx.artifact("notes", "all good")
        ctx.artifact("blob", b"\xff\x00")
        ctx.artifact("raw", attachment)
        ctx.artifact("summary", {"rows": 3, "ok": True})
        ctx.artifact("../../etc/passwd", "not a path")

    return flow


def test_each_kind_round_trips_and_survives_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "jobs.db"
    rt = Runtime(store=db)
    try:
        job = rt.submit(reporting_flow(tmp_path), data={}).wait(30)
        assert job.status == "completed", job.error
        arts = {a.name: a for a in job.artifacts}
        assert [a.kind for a in job.artifacts] == [
            "dataframe",
            "figure",
            "text",
            "bytes",
            "file",
            "json",
            "text",
        ]
        table = job.artifact("table")
        pd.testing.assert_frame_equal(
            table, pd.DataFrame({"x": [1, 2, 3], "y": [0.5, 1.5, 2.5]}, index=["a", "b", "c"])
        )
        plot = job.artifact("plot")
        assert isinstance(plot, PngImage) and plot.data.startswith(b"\x89PNG")
        assert job.artifact("notes") == "all good" and job.artifact("blob") == b"\xff\x00"
        assert job.artifact("raw") == b"\x00\x01raw" and job.artifact("summary") == {
            "rows": 3,
            "ok": True,
        }
        sneaky = arts["../../etc/passwd"]
        assert sneaky.filename == "etc_passwd.txt"
        folder = Path(str(db) + ".artifacts").resolve()
        assert all(folder in p.resolve().parents for p in folder.rglob("*") if p.is_file())
        assert {
            "artifact_id",
            "job_id",
            "name",
            "kind",
            "content_type",
            "filename",
            "size",
            "created_at",
        } <= set(arts["plot"].to_dict())
        with pytest.raises(KeyError, match="has no artifact 'nope'"):
            job.artifact("nope")
        job_id = job.job_id
    finally:
        rt.shutdown()
    again = Runtime(store=db)
    try:
        names = [a.name for a in again.artifacts.for_job(job_id)]
        assert names[:3] == ["table", "plot", "notes"] and len(names) == 7
        assert again.artifacts.load(again.artifacts.for_job(job_id)[2].artifact_id) == "all good"
    finally:
        again.shutdown()


def test_refusals_are_clear(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "a", max_bytes=10)
    with pytest.raises(ArtifactError, match="over the limit of 10 bytes"):
        store.save("job-1", "big", "x" * 11)
    with pytest.raises(ArtifactError, match="cannot store a set"):
        store.save("job-1", "odd", {1, 2})
    with pytest.raises(ArtifactError, match="non-empty string"):
        store.save("job-1", "", "x")
    with pytest.raises(ArtifactError, match="is not a file"):
        store.save("job-1", "missing", tmp_path / "nope.txt")
    with pytest.raises(ValueError, match="job id"):
        store.save("../escape", "x", "y")
    with pytest.raises(KeyError):
        store.load("0" * 32)


def test_a_runtime_without_a_store_file_uses_a_temporary_folder_removed_at_shutdown(
    tmp_path: Path,
) -> None:
    rt = Runtime()
    flow = Flow("tmp-art")

    @flow.routine(slots=["input"], events=[])
    def attach(input, ctx):
        ctx.artifact("n", str(input[0]["n"]))

    job = rt.submit(flow, data={"n": 4}).wait(10)
    assert job.artifact("n") == "4"
    folder = rt.artifacts.folder
    assert folder.is_dir()
    rt.shutdown()
    assert not folder.exists()


def test_a_failing_attachment_fails_the_job_with_the_reason(tmp_path: Path) -> None:
    rt = Runtime()
    flow = Flow("bad-art")

    @flow.routine(slots=["input"], events=[])
    def attach(input, ctx):
        ctx.artifact("odd", object())

    try:
        job = rt.submit(flow, data={}).wait(10)
        assert job.status == "failed" and "cannot store a object" in job.error
    finally:
        rt.shutdown()


def test_artifacts_show_in_the_job_repr_and_are_published_on_the_bus(tmp_path: Path) -> None:
    import routilux_nb as rx  # the HTML renderer is installed by the top-level package

    rt = rx.Runtime(store=tmp_path / "jobs.db")
    try:
        flow = reporting_flow(tmp_path)
        quiet = Flow("no-artifacts")

        @quiet.routine(slots=["input"], events=[])
        def nothing(input, ctx):
            ctx.data["ok"] = True

        plain = rt.submit(quiet, data={})
        sub = rt.monitor.subscribe(event_types=["artifact_created"])
        job = rt.submit(flow, data={}).wait(30)
        seen = []
        while (msg := sub.get(timeout=1)) is not None:
            seen.append(msg)
        assert [m["detail"] for m in seen][:3] == ["table", "plot", "notes"]
        assert all(m["job_id"] == job.job_id and m["routine_id"] == "report" for m in seen)
        html = job._repr_html_()
        assert ">artifacts<" in html and "data:image/png;base64," in html  # the plot, as an image
        assert "3 rows × 2 columns" in html  # the table's head
        assert "not a path" in html  # the newest text artifact, escaped
        assert ">artifacts<" not in plain.wait(10)._repr_html_()
        assert "artifact_created" in set(job.trace.to_pandas()["event_type"])
    finally:
        rt.shutdown()
