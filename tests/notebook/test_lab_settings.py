"""The JupyterLab settings that `make lab` and Binder install (binder/overrides.json)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
OVERRIDES = REPO / "binder" / "overrides.json"
INSTALLER = REPO / "binder" / "install_lab_settings.py"


def schema_of(plugin: str) -> dict:
    package, _, name = plugin.partition(":")
    path = Path(sys.prefix) / "share" / "jupyter" / "lab" / "schemas" / package / f"{name}.json"
    if not path.exists():
        pytest.skip(f"JupyterLab's schema {path} is not installed")
    return json.loads(path.read_text(encoding="utf-8"))


def test_overrides_are_valid_for_the_installed_jupyterlab():
    jsonschema = pytest.importorskip("jsonschema")
    overrides = json.loads(OVERRIDES.read_text(encoding="utf-8"))
    kernels = overrides["@jupyterlab/apputils-extension:kernels-settings"]
    assert kernels["commsOverSubshells"] == "perCommTarget"
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    for plugin, values in overrides.items():
        schema = schema_of(plugin)
        assert set(values) <= set(schema["properties"]), (plugin, values)
        jsonschema.validate(values, schema)


def test_installer_merges_into_existing_overrides(tmp_path):
    target = tmp_path / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    target.parent.mkdir(parents=True)
    target.write_text(
        json.dumps(
            {
                "@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"},
                "@jupyterlab/apputils-extension:notification": {"doNotDisturbMode": True},
            }
        )
    )
    for _ in range(2):  # idempotent
        run = subprocess.run(
            [sys.executable, str(INSTALLER), "--prefix", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 0, run.stderr
    merged = json.loads(target.read_text())
    assert merged["@jupyterlab/apputils-extension:themes"] == {"theme": "JupyterLab Dark"}
    assert merged["@jupyterlab/apputils-extension:notification"] == {
        "doNotDisturbMode": True,
        "fetchNews": "false",
        "checkForUpdates": False,
    }
    assert merged["@jupyterlab/apputils-extension:kernels-settings"] == {
        "commsOverSubshells": "perCommTarget"
    }


def test_installer_refuses_a_broken_file(tmp_path):
    target = tmp_path / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    target.parent.mkdir(parents=True)
    target.write_text("[]")
    run = subprocess.run(
        [sys.executable, str(INSTALLER), "--prefix", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0 and "JSON object" in run.stderr
