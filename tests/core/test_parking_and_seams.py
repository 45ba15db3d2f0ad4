"""The public stepping API (``worker.parking``), the server seam, and one-way layers."""

from __future__ import annotations

import ast
import pathlib
from collections.abc import Iterator
from typing import Any

import pytest

import routilux_nb
from routilux_nb.core import Flow, Runtime, extensions
from routilux_nb.core._jobrun import KeyState

CORE = pathlib.Path(routilux_nb.__file__).parent / "core"


def chain() -> Flow:
    flow = Flow("parking")

    @flow.routine(slots=["input"], events=["output"])
    def source(input, ctx):
        for v in input[0]["values"]:
            ctx.emit("output", v=v)

    @flow.routine(slots=["input"], events=[])
    def sink(input, ctx):
        ctx.data.setdefault("out", []).extend(i["v"] for i in input)

    flow.connect("source.output", "sink.input")
    return flow


def test_release_runs_what_was_parked(rt, wait_until, finished):
    worker = rt.start(chain())
    rt.monitor.add_breakpoint("routine", "sink", worker=worker)
    job = worker.submit(data={"values": [1, 2]})
    wait_until(lambda: job.parked, 5)
    assert job.status == "paused" and job.parked[0].routine_id == "sink"
    released = worker.parking.release(job)
    assert [p.routine_id for p in released] == ["sink"]
    assert finished(job).data["out"] == [1, 2]


def test_step_over_parks_again_at_the_next_activation(rt, wait_until, finished):
    worker = rt.start(chain())
    bp = rt.monitor.add_breakpoint("routine", "source", worker=worker)
    job = worker.submit(data={"values": [3]})
    wait_until(lambda: job.parked, 5)
    rt.monitor.breakpoints.remove(bp.breakpoint_id)
    worker.parking.step(job, "over")
    wait_until(lambda: job.parked and job.parked[0].routine_id == "sink", 5)
    assert job.parked[0].kind == "step"
    worker.parking.release(job)
    assert finished(job).data["out"] == [3]


def test_drop_discards_the_oldest_parked_item_and_the_job_runs_on(rt, wait_until, finished):
    worker = rt.start(chain())
    bp = rt.monitor.add_breakpoint("routine", "sink", worker=worker)
    job = worker.submit(data={"values": [1]})
    wait_until(lambda: job.parked, 5)
    rt.monitor.breakpoints.remove(bp.breakpoint_id)
    dropped = worker.parking.drop(job)
    assert dropped.routine_id == "sink"
    assert finished(job).discarded == 1 and "out" not in job.data


def test_drop_with_nothing_parked_says_so(rt, finished):
    worker = rt.start(chain())
    job = finished(worker.submit(data={"values": []}))
    with pytest.raises(Exception, match="nothing parked to drop"):
        worker.parking.drop(job)
    with pytest.raises(ValueError, match="'over' or 'into'"):
        worker.parking.step(job, "sideways")  # type: ignore[arg-type]


def test_key_states_are_named():
    assert [s.name for s in KeyState] == ["IDLE", "READY", "RUNNING"] and KeyState.RUNNING == 2


# -- the server seam -----------------------------------------------------------------------


class FakeHandle:
    def __init__(self) -> None:
        self.running = True
        self.url = "http://127.0.0.1:1"

    def stop(self, timeout: float = 5.0) -> None:
        self.running = False


@pytest.fixture
def factory_restored() -> Iterator[None]:
    saved = extensions.server_factory()
    yield
    extensions.register_server_factory(saved)


def test_serve_calls_the_registered_factory_once_while_it_runs(factory_restored):
    calls: list[dict[str, Any]] = []

    def factory(runtime: Runtime, **options: Any) -> FakeHandle:
        calls.append(options)
        return FakeHandle()

    extensions.register_server_factory(factory)
    rt = Runtime()
    handle = rt.serve(port=0)
    assert rt.serve() is handle and rt.server is handle and len(calls) == 1
    assert calls[0]["host"] == "127.0.0.1"
    rt.shutdown()
    assert not handle.running, "shutting the runtime down stops its server"


def test_serve_without_a_server_names_the_extra(factory_restored):
    extensions.register_server_factory(None)
    with Runtime() as rt, pytest.raises(ImportError, match=r"pip install 'routilux_nb\[server\]'"):
        rt.serve()


def test_the_top_level_package_registers_the_server():
    assert extensions.server_factory() is routilux_nb._server_hook.serve_lazily


def test_core_never_imports_notebook_or_server_even_lazily():
    offenders = []
    for path in CORE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [("." * node.level) + (node.module or "")]
            for name in names:
                if name.startswith(
                    ("routilux_nb.notebook", "routilux_nb.server", "..notebook", "..server")
                ):
                    offenders.append(f"{path.name}: {name}")
    assert offenders == []


def test_no_package_module_is_over_400_lines():
    package = CORE.parent
    long = {
        str(p.relative_to(package)): n
        for p in package.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert long == {}, long


def test_the_finished_signal_releases_every_waiter_and_times_out_cleanly():
    import threading

    from routilux_nb.core._jobrun import Done

    done = Done()
    assert not done.is_set() and done.wait(0.01) is False
    released: list[bool] = []
    waiters = [threading.Thread(target=lambda: released.append(done.wait(10))) for _ in range(3)]
    for t in waiters:
        t.start()
    done.set()
    done.set()  # setting twice is harmless
    for t in waiters:
        t.join(10)
    assert released == [True, True, True] and done.is_set() and done.wait(0) is True
