"""``python -m routilux_nb serve``: flow loading, and the real server as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from routilux_nb.__main__ import build_parser, load_flows, main
from routilux_nb.core import Runtime

from ._apps import free_port, has_create_app

pytestmark = pytest.mark.timeout(90)

GOOD = """flow_id: greet
routines:
  source: {class: data_source, config: {items: [{n: 1}, {n: 2}]}}
  sink: {class: collector}
connections:
  - {from: source.output, to: sink.input}
"""
BAD_YAML = "flow_id: broken\nroutines:\n  a: [unclosed\n"
BAD_CLASS = '{"flow_id": "nope",\n "routines": {"a": {"class": "no_such_class"}}}\n'


@pytest.fixture
def flows_dir(tmp_path: Path) -> Path:
    (tmp_path / "good.yaml").write_text(GOOD)
    (tmp_path / "bad.yml").write_text(BAD_YAML)
    (tmp_path / "notes.txt").write_text("not a flow")
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "deep.yaml").write_text(GOOD.replace("greet", "deep"))
    return tmp_path


@pytest.fixture
def rt() -> Iterator[Runtime]:
    runtime = Runtime()
    yield runtime
    runtime.shutdown(wait=False)


def test_load_flows_registers_good_files_and_reports_bad_ones(rt: Runtime, flows_dir: Path) -> None:
    (flows_dir / "wrong.json").write_text(BAD_CLASS)
    errors = load_flows(rt, flows_dir)
    assert sorted(rt.flows) == ["greet"]
    assert [w.status for w in rt.workers.values()] == ["running"]
    assert len(errors) == 2
    assert errors[0].startswith("bad.yml:4: invalid YAML")
    assert errors[1].startswith("wrong.json") and "no_such_class" in errors[1]
    assert load_flows(rt, flows_dir / "missing") == [f"{flows_dir / 'missing'}: not a directory"]


def test_parser_defaults() -> None:
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.flows, args.api_key, args.strict) == (
        "127.0.0.1",
        8765,
        None,
        None,
        False,
    )


def test_remote_host_is_refused_without_allow_remote(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--host", "0.0.0.0"]) == 2
    assert "--allow-remote" in capsys.readouterr().err


def run_cli(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "routilux_nb", "serve", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.skipif(not has_create_app(), reason="needs routilux_nb.server.app.create_app")
def test_strict_exits_1_on_a_bad_file(flows_dir: Path) -> None:
    proc = run_cli("--port", str(free_port()), "--flows", str(flows_dir), "--strict")
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1 and "bad.yml:4" in err


@pytest.mark.skipif(not has_create_app(), reason="needs routilux_nb.server.app.create_app")
def test_serve_subprocess_loads_flows_and_runs_jobs_over_http(flows_dir: Path) -> None:
    port = free_port()
    proc = run_cli("--port", str(port), "--flows", str(flows_dir), "--log-level", "warning")
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
        flows = httpx.get(f"{base}/api/v1/flows", timeout=5)
        assert flows.status_code == 200 and "greet" in flows.text and "deep" not in flows.text
        created = httpx.post(
            f"{base}/api/v1/jobs",
            timeout=5,
            json={"flow_id": "greet", "routine_id": "source", "data": {}},
        )
        assert created.status_code in (200, 201), created.text
        job_id = created.json()["job_id"]
        for _ in range(100):
            job = httpx.get(f"{base}/api/v1/jobs/{job_id}", timeout=5).json()
            if job["status"] == "completed":
                break
            time.sleep(0.05)
        assert job["status"] == "completed"
        assert job["data"]["collected"] == [{"n": 1}, {"n": 2}]
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=15)
    assert "bad.yml:4: invalid YAML" in err and "loaded flow 'greet' from good.yaml" in err


def test_cors_and_host_options_reach_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    args = build_parser().parse_args(
        [
            "serve",
            "--cors-origin",
            "http://localhost:3000",
            "--cors-origin",
            "http://b.example",
            "--allowed-host",
            "box.lan",
        ]
    )
    assert args.cors_origin == ["http://localhost:3000", "http://b.example"]
    assert args.allowed_host == ["box.lan"]
    assert (
        build_parser().parse_args(["serve"]).cors_origin is None
    )  # None: ROUTILUX_CORS_ORIGINS decides
    seen: dict[str, Any] = {}

    def fake_run(app: Any, **kwargs: Any) -> None:
        seen.update(origins=app.state.cors_origins, hosts=app.state.allowed_hosts)

    import uvicorn

    monkeypatch.setattr(uvicorn, "run", fake_run)
    assert (
        main(["serve", "--cors-origin", "http://localhost:3000", "--allowed-host", "box.lan"]) == 0
    )
    assert seen["origins"] == ["http://localhost:3000"] and "box.lan" in seen["hosts"]
