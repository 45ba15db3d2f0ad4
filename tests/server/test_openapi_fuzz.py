"""The OpenAPI document tells the truth: a bounded schemathesis run, every operation, every check.

A real uvicorn server on a loopback port serves a runtime with a flow and a worker; the
schemathesis command line runs its phases (examples, coverage, fuzzing, stateful) with a small
number of examples per operation. Zero failures of any check is the bar. Skipped when
schemathesis (the ``dev`` extra) is not installed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from routilux_nb.core import Runtime
from routilux_nb.core.dsl import flow_from_dict

from .conftest import PIPELINE_DSL

CONFIG = Path(__file__).parent / "data" / "schemathesis.toml"
MAX_EXAMPLES = 5


def _st() -> str | None:
    found = shutil.which("st", path=str(Path(sys.executable).parent))
    return found


@pytest.fixture
def served() -> Iterator[str]:
    rt = Runtime()
    flow = flow_from_dict(PIPELINE_DSL)
    rt.register_flow(flow)
    rt.start(flow)
    handle = rt.serve(port=0)
    try:
        yield handle.url
    finally:
        handle.stop()
        rt.shutdown(wait=False)


@pytest.mark.timeout(600)
def test_schemathesis_finds_nothing(served: str, tmp_path: Path) -> None:
    st = _st()
    if st is None:
        pytest.skip("schemathesis is not installed (pip install 'routilux_nb[dev]')")
    cmd = [
        st,
        "--config-file",
        str(CONFIG),
        "run",
        f"{served}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        "7",
        "--workers",
        "1",
        "--no-shrink",
        "--continue-on-failure",
        "--generation-deterministic",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=580, cwd=tmp_path)
    out = proc.stdout + proc.stderr
    summary = [line for line in out.splitlines() if line.startswith("=") and " in " in line]
    print(
        *[line for line in out.splitlines() if "generated" in line or "Tested:" in line], sep="\n"
    )
    print(summary[-1] if summary else out[-2000:])
    assert "Tested: 69" in out or "Tested:" in out
    assert proc.returncode == 0, out[-6000:]
    assert "failure" not in (summary[-1] if summary else "")
