"""Prometheus ``/metrics``: parses as Prometheus text, and the numbers match the runtime."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from routilux_nb import __version__
from routilux_nb.core import Runtime
from routilux_nb.server.prometheus import registry_for

from ._apps import make_app, pipeline


@pytest.fixture
def rt() -> Iterator[Runtime]:
    runtime = Runtime()
    yield runtime
    runtime.shutdown(wait=False)


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def test_counts_match_the_runtime(rt: Runtime) -> None:
    client = TestClient(make_app(rt), base_url="http://127.0.0.1")
    flow = pipeline("p", fail_on=3)
    for n in (1, 2, 3):
        rt.submit(flow, "src", "input", {"n": n, "count": 2}).wait(5)
    gate = threading.Event()
    rt.submit(pipeline("q", gate), "src", "input", {})
    try:
        m = scrape(client)
        jobs = rt.jobs()
        assert m[("routilux_info", (("version", __version__),))] == 1
        assert m[("routilux_jobs", (("status", "completed"),))] == 2
        assert m[("routilux_jobs", (("status", "failed"),))] == 1
        assert m[("routilux_jobs", (("status", "running"),))] == 1
        assert m[("routilux_jobs_finished_total", (("flow_id", "p"), ("status", "completed")))] == 2
        assert m[("routilux_jobs_finished_total", (("flow_id", "p"), ("status", "failed")))] == 1
        assert m[("routilux_workers", (("status", "running"),))] == 2
        assert m[("routilux_events_total", ())] == sum(j.monitor.metrics.total_events for j in jobs)
        src = (("flow_id", "p"), ("routine_id", "src"))
        assert m[("routilux_routine_executions_total", src)] == 3
        assert m[("routilux_routine_errors_total", src)] == 1
        assert m[("routilux_routine_duration_seconds_count", src)] == 3
        assert m[("routilux_routine_duration_seconds_sum", src)] > 0
        sink = (("flow_id", "p"), ("routine_id", "sink"))
        assert m[("routilux_routine_executions_total", sink)] == sum(
            j.monitor.metrics.routine_metrics["sink"].execution_count
            for j in rt.jobs(flow_id="p")
            if "sink" in j.monitor.metrics.routine_metrics
        )
        worker = rt.worker_for("p").worker_id
        assert (
            m[
                (
                    "routilux_queue_depth",
                    (("routine_id", "sink"), ("slot", "input"), ("worker_id", worker)),
                )
            ]
            == 0
        )
        assert m[("routilux_uptime_seconds", ())] >= 0
    finally:
        gate.set()


def test_events_total_never_goes_down_when_jobs_are_evicted() -> None:
    runtime = Runtime(max_finished_jobs=2)
    try:
        client = TestClient(make_app(runtime), base_url="http://127.0.0.1")
        flow = pipeline("p")
        totals = []
        for _ in range(5):
            runtime.submit(flow, "src", "input", {}).wait(5)
            totals.append(scrape(client)[("routilux_events_total", ())])
        assert totals == sorted(totals) and len(set(totals)) == 5
        per_job = totals[0]
        assert totals[-1] == 5 * per_job
    finally:
        runtime.shutdown(wait=False)


def test_each_app_has_its_own_registry(rt: Runtime) -> None:
    other = Runtime()
    try:
        a, b = make_app(rt), make_app(other)
        assert registry_for(a) is registry_for(a) and registry_for(a) is not registry_for(b)
        rt.submit(pipeline("p"), "src", "input", {}).wait(5)
        assert (
            scrape(TestClient(a, base_url="http://127.0.0.1"))[
                ("routilux_jobs", (("status", "completed"),))
            ]
            == 1
        )
        assert (
            scrape(TestClient(b, base_url="http://127.0.0.1"))[
                ("routilux_jobs", (("status", "completed"),))
            ]
            == 0
        )
    finally:
        other.shutdown(wait=False)
