"""OTLP/HTTP end to end: a local receiver decodes what the exporter sends; ``traceparent`` on
``POST /jobs``; ``serve --otel-endpoint``."""

from __future__ import annotations

import gzip
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from routilux_nb import Flow, Runtime
from routilux_nb.__main__ import build_parser, main

pytestmark = pytest.mark.timeout(90)
trace_pb = pytest.importorskip("opentelemetry.proto.collector.trace.v1.trace_service_pb2")
metrics_pb = pytest.importorskip("opentelemetry.proto.collector.metrics.v1.metrics_service_pb2")

PARENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{PARENT_TRACE}-{PARENT_SPAN}-01"


class Receiver:
    """A minimal OTLP/HTTP collector on 127.0.0.1 keeping the decoded requests."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.metric_names: set[str] = set()
        self.resources: list[dict[str, Any]] = []
        self.got = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                receiver.take(self.path, body)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def take(self, path: str, body: bytes) -> None:
        with self.got:
            if path == "/v1/traces":
                req = trace_pb.ExportTraceServiceRequest.FromString(body)
                for rs in req.resource_spans:
                    self.resources.append(_attrs(rs.resource.attributes))
                    for ss in rs.scope_spans:
                        for s in ss.spans:
                            self.spans.append(
                                {
                                    "name": s.name,
                                    "trace_id": s.trace_id.hex(),
                                    "span_id": s.span_id.hex(),
                                    "parent": s.parent_span_id.hex(),
                                    "attrs": _attrs(s.attributes),
                                    "status": s.status.code,
                                }
                            )
            elif path == "/v1/metrics":
                req = metrics_pb.ExportMetricsServiceRequest.FromString(body)
                for rm in req.resource_metrics:
                    for sm in rm.scope_metrics:
                        self.metric_names.update(m.name for m in sm.metrics)
            self.got.notify_all()

    def wait_for(self, predicate: Any, timeout: float = 30) -> None:
        with self.got:
            assert self.got.wait_for(predicate, timeout), (self.spans, self.metric_names)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _attrs(kvs: Any) -> dict[str, Any]:
    out = {}
    for kv in kvs:
        field = kv.value.WhichOneof("value")
        out[kv.key] = getattr(kv.value, field) if field else None
    return out


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _flow() -> Flow:
    flow = Flow("otlp")

    @flow.routine(slots=["input"], events=["output"])
    def double(input, ctx):
        for item in input:
            ctx.emit("output", value=item["value"] * 2)

    @flow.routine(slots=["input"], events=[])
    def keep(input, ctx):
        ctx.data["out"] = [i["value"] for i in input]

    flow.connect("double.output", "keep.input")
    return flow


def test_spans_and_metrics_reach_an_otlp_http_receiver(receiver: Receiver) -> None:
    rt = Runtime(otel=receiver.url)
    try:
        job = rt.submit(_flow(), data={"value": 3}).wait(10)
        assert job.data["out"] == [6]
    finally:
        rt.shutdown()  # the runtime owns these providers: shutting down flushes them
    receiver.wait_for(
        lambda: len(receiver.spans) >= 3 and "routilux.activations" in receiver.metric_names
    )
    by_name = {s["name"]: s for s in receiver.spans}
    root = by_name["routilux.job otlp"]
    assert root["trace_id"] == job.trace_id and root["parent"] == ""
    assert (
        root["attrs"]["routilux.job_id"] == job.job_id
        and root["attrs"]["routilux.status"] == "completed"
    )
    for rid in ("double", "keep"):
        act = by_name[f"routilux.activation {rid}"]
        assert act["trace_id"] == job.trace_id and act["parent"] == root["span_id"]
        assert act["attrs"]["routilux.routine_id"] == rid and act["attrs"]["routilux.items"] == 1
    assert receiver.resources[0]["service.name"] == "routilux_nb"
    assert {
        "routilux.activation.duration",
        "routilux.jobs",
        "routilux.job.duration",
    } <= receiver.metric_names


@pytest.mark.parametrize("path", ["inline", "submission_thread"])
def test_post_jobs_honours_an_incoming_traceparent(
    receiver: Receiver, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the event loop and on a submission thread alike, the job's span is the caller's child."""
    from fastapi.testclient import TestClient

    from routilux_nb.server import create_app, submit

    if path == "submission_thread":
        monkeypatch.setattr(submit, "can_run_inline", lambda *args: False)
    rt = Runtime(otel=receiver.url)
    try:
        rt.register_flow(_flow())
        with TestClient(create_app(rt), base_url="http://127.0.0.1") as client:
            linked = client.post(
                "/api/v1/jobs",
                json={"flow_id": "otlp", "data": {"value": 1}},
                headers={"traceparent": TRACEPARENT},
            )
            plain = client.post(
                "/api/v1/jobs",
                json={"flow_id": "otlp", "data": {"value": 2}},
                headers={"traceparent": "garbage"},
            )
        assert linked.status_code == 201 and plain.status_code == 201, (linked.text, plain.text)
        linked_job = rt.get_job(linked.json()["job_id"]).wait(10)
        plain_job = rt.get_job(plain.json()["job_id"]).wait(10)
    finally:
        rt.shutdown()
    assert linked_job.trace_id == PARENT_TRACE
    assert plain_job.trace_id not in (None, PARENT_TRACE)  # a malformed header is ignored
    receiver.wait_for(lambda: sum(s["name"] == "routilux.job otlp" for s in receiver.spans) == 2)
    roots = {s["trace_id"]: s for s in receiver.spans if s["name"] == "routilux.job otlp"}
    assert roots[PARENT_TRACE]["parent"] == PARENT_SPAN
    assert roots[plain_job.trace_id]["parent"] == ""


def test_serve_refuses_a_bad_otel_endpoint(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        build_parser().parse_args(["serve", "--otel-endpoint", "http://x:4318"]).otel_endpoint
        == "http://x:4318"
    )
    assert main(["serve", "--port", "0", "--otel-endpoint", "localhost:4318"]) == 2
    assert "must be an http(s) URL" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


FLOW = """flow_id: greet
routines:
  source: {class: data_source, config: {items: [{n: 1}, {n: 2}]}}
  sink: {class: collector}
connections:
  - {from: source.output, to: sink.input}
"""


def test_serve_with_otel_endpoint_exports_the_jobs_it_runs(
    receiver: Receiver, tmp_path: Path
) -> None:
    import httpx

    (tmp_path / "greet.yaml").write_text(FLOW)
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "routilux_nb",
            "serve",
            "--port",
            str(port),
            "--flows",
            str(tmp_path),
            "--log-level",
            "warning",
            "--otel-endpoint",
            receiver.url,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.communicate()[1]
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.1)
        created = httpx.post(
            f"{base}/api/v1/jobs",
            timeout=5,
            headers={"traceparent": TRACEPARENT},
            json={"flow_id": "greet", "routine_id": "source", "data": {}},
        )
        assert created.status_code == 201, created.text
        job_id = created.json()["job_id"]
        for _ in range(200):
            job = httpx.get(f"{base}/api/v1/jobs/{job_id}", timeout=5).json()
            if job["status"] == "completed":
                break
            time.sleep(0.05)
        assert job["status"] == "completed" and job["metadata"]["otel.trace_id"] == PARENT_TRACE
    finally:
        proc.terminate()  # uvicorn shuts down cleanly; the runtime flushes its exporters
        proc.communicate(timeout=30)
    receiver.wait_for(lambda: any(s["name"] == "routilux.job greet" for s in receiver.spans))
    root = next(s for s in receiver.spans if s["name"] == "routilux.job greet")
    assert root["trace_id"] == PARENT_TRACE and root["parent"] == PARENT_SPAN
    assert root["attrs"]["routilux.job_id"] == job_id
    assert {s["name"] for s in receiver.spans if s["trace_id"] == PARENT_TRACE} >= {
        "routilux.activation source",
        "routilux.activation sink",
    }
