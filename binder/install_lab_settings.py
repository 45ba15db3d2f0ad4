"""Install the JupyterLab/Notebook 7 default settings that routilux_nb's notebooks rely on.

Merges ``binder/overrides.json`` into ``<prefix>/share/jupyter/lab/settings/overrides.json``
(``prefix`` defaults to this Python's ``sys.prefix``), keeping settings already there:

- ``commsOverSubshells: perCommTarget``: widget messages go to a kernel subshell, so the
  widgets' buttons act while a cell blocks (e.g. in ``job.wait()``).
- no Jupyter news pop-up and no update check (offline machines, Binder).

Run by ``make lab`` and by ``binder/postBuild``: ``python binder/install_lab_settings.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def install(prefix: Path, source: Path = HERE / "overrides.json") -> Path:
    """Merge ``source`` into the prefix's overrides.json; returns the file written."""
    target = prefix / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    current = json.loads(target.read_text(encoding="utf-8")) if target.exists() else {}
    if not isinstance(current, dict):
        raise SystemExit(f"{target} does not hold a JSON object; fix or remove it first")
    for plugin, values in json.loads(source.read_text(encoding="utf-8")).items():
        current[plugin] = {**current.get(plugin, {}), **values}
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(current, indent=2) + "\n", encoding="utf-8")
    return target


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", type=Path, default=Path(sys.prefix))
    print(f"JupyterLab settings written to {install(parser.parse_args().prefix)}")
