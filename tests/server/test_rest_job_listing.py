"""``GET /jobs`` totals: exact (``total_relation: eq``) or, for a filter by creation time on a
large SQLite store, a lower bound (``gte``); ``has_more`` walks every page either way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from routilux_nb.core import Flow, Runtime
from routilux_nb.store import sqlite as sqlite_store


def quick_flow() -> Flow:
    flow = Flow("quick")

    @flow.routine(slots=["input"], events=[])
    def work(input, ctx):
        ctx.data["i"] = input[0]["i"]

    return flow


@pytest.fixture(params=["sqlite", "memory"])
def listing(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    from routilux_nb.server import create_app

    # max_finished_jobs=3: most jobs leave memory, so the store's listing is what is served
    rt = Runtime(
        store=tmp_path / "jobs.db" if request.param == "sqlite" else "memory", max_finished_jobs=3
    )
    flow = quick_flow()
    for i in range(12):
        rt.submit(flow, data={"i": i}).wait(10)
    with TestClient(create_app(rt), base_url="http://127.0.0.1") as client:
        yield client
    rt.shutdown()


def walk(client: TestClient, query: str) -> tuple[list[str], list[dict[str, object]]]:
    ids: list[str] = []
    bodies = []
    offset = 0
    while True:
        r = client.get(f"/api/v1/jobs?{query}&limit=5&offset={offset}")
        assert r.status_code == 200, r.text
        body = r.json()
        bodies.append(body)
        ids += [j["job_id"] for j in body["jobs"]]
        offset += len(body["jobs"])
        if not body["has_more"]:
            return ids, bodies
        assert len(bodies) < 10, "has_more never became false"


def test_a_time_filter_past_the_count_limit_gives_a_lower_bound_and_pages_still_end(
    listing: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_store, "COUNT_LIMIT", 6)
    ids, bodies = walk(listing, "created_after=2000-01-01T00:00:00Z")
    assert len(ids) == len(set(ids)) == 12
    first = bodies[0]
    assert first["has_more"] is True
    if isinstance(listing.app.state.runtime.store, sqlite_store.SQLiteJobStore):
        assert first["total_relation"] == "gte" and first["total"] == 6
    else:  # the memory store counts exactly
        assert first["total_relation"] == "eq" and first["total"] == 12
    assert bodies[-1]["has_more"] is False


def test_unfiltered_and_status_totals_are_exact(listing: TestClient) -> None:
    for query in ("", "status=completed"):
        ids, bodies = walk(listing, query)
        assert len(ids) == 12
        assert all(b["total"] == 12 and b["total_relation"] == "eq" for b in bodies)
    r = listing.get("/api/v1/jobs?status=failed")
    assert r.json()["total"] == 0 and r.json()["has_more"] is False
