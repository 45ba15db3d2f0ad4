"""The layers above the engine use its public members only.

Code in ``monitor``, ``notebook``, ``server``, ``builtins`` and ``store`` reads no ``_private``
attribute of another object (``self``/``cls`` and IPython's ``_repr_*_`` protocol aside),
except the few listed here, each with the reason it is still needed.
"""

from __future__ import annotations

import ast
import pathlib
import re

import routilux_nb
from routilux_nb.core.job import JobContext
from routilux_nb.core.worker import Worker

PKG = pathlib.Path(routilux_nb.__file__).parent
LAYERS = ("monitor", "notebook", "server", "builtins", "store")
PROTOCOL = re.compile(r"^(__\w+__|_repr_\w+_|_ipython_\w+_)$")

#: (module, attribute) -> why it is still read
ALLOWED = {
    ("notebook/widgets/_clicks.py", "_reply_subshell_for"): "ipykernel's comm has no public hook",
    ("notebook/widgets/_clicks.py", "_reply_subshell_ids"): "ipykernel's comm has no public hook",
    ("server/health.py", "_shutdown"): "the standard ThreadPoolExecutor has no public flag",
    ("server/health.py", "_executor"): "Runtime has no public accessor for its executor yet",
    ("monitor/otel.py", "_mon"): "late instrumentation retargets a running worker's monitor",
    ("monitor/otel_recorder.py", "_queues"): "a read of the engine before its split; to remove",
    ("monitor/otel_recorder.py", "_ring"): "a read of the trace before its split; to remove",
}


def _private_reads(path: pathlib.Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute):
            base, name = node.value, node.attr
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "hasattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
        ):
            base, name = node.args[0], node.args[1].value
        else:
            continue
        if not name.startswith("_") or PROTOCOL.match(name):
            continue
        if isinstance(base, ast.Name) and base.id in ("self", "cls"):
            continue
        if (
            isinstance(base, ast.Call)
            and isinstance(base.func, ast.Name)
            and base.func.id == "super"
        ):
            continue
        found.add(name)
    return found


def test_layers_read_no_private_member_of_another_object():
    offenders = {}
    for layer in LAYERS:
        for path in sorted((PKG / layer).rglob("*.py")):
            module = path.relative_to(PKG).as_posix()
            names = {n for n in _private_reads(path) if (module, n) not in ALLOWED}
            if names:
                offenders[module] = sorted(names)
    assert offenders == {}


def test_the_scan_finds_a_private_read(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f(job):\n    return job._run, getattr(job, '_keys'), self._ok\n")
    assert _private_reads(sample) == {"_run", "_keys"}


def test_the_older_private_names_are_gone():
    assert not hasattr(Worker, "_unpark") and not hasattr(Worker, "_drop_parked")
    assert not hasattr(JobContext, "_keys") and not hasattr(JobContext, "_user_paused")
