import os
from concurrent.futures import ProcessPoolExecutor

import offload_routines as mod
import pytest

from routilux_nb import Flow, Runtime
from routilux_nb.core.offload import is_remote_executor


@pytest.fixture(scope="module")
def pool():
    with ProcessPoolExecutor(2) as ex:
        yield ex


def _flow() -> Flow:
    flow = Flow("offload")
    flow.routine(mod.triple, slots=["input"], events=["output"])
    flow.add_routine(mod.Square(), "square")
    flow.routine(mod.collect, slots=["input"], events=[])
    flow.connect("triple.output", "square.input")
    flow.connect("square.output", "collect.input")
    return flow


def test_process_pool_runs_logic_in_other_processes_and_applies_results(pool):
    assert is_remote_executor(pool)
    rt = Runtime(executor=pool)
    try:
        jobs = [rt.submit(_flow(), data={"value": i}) for i in range(1, 4)]
        for job in jobs:
            job.wait(30)
        assert [j.status for j in jobs] == ["completed"] * 3
        assert sorted(v for j in jobs for v in j.data["out"]) == [9, 36, 81]
        pids = {p for j in jobs for p in j.data["pids"]}
        assert os.getpid() not in pids  # the logic really ran elsewhere
        assert "tripling 1" in jobs[0].output()  # printed remotely, captured per job
        assert [e.event_type for e in jobs[0].trace.events()].count("event_emit") == 2
    finally:
        rt.shutdown()


def test_remote_error_fails_the_job_with_its_message(pool):
    rt = Runtime(executor=pool)
    try:
        flow = Flow("boom")
        flow.routine(mod.explode, slots=["input"], events=[])
        job = rt.submit(flow, data={}).wait(30)
        assert job.status == "failed"
        assert "remote failure" in job.error
    finally:
        rt.shutdown()


def test_functions_defined_in_place_run_on_a_process_pool(pool):
    pytest.importorskip("cloudpickle")  # ships closures and notebook functions by value
    factor = 7
    flow = Flow("closure")

    @flow.routine(slots=["input"], events=[])
    def scale(input, ctx):
        print("scaling in", "another" if os.getpid() != ctx.data["parent"] else "this", "process")
        ctx.data["out"] = [item["value"] * factor for item in input]

    rt = Runtime(executor=pool)
    try:
        job = rt.submit(flow, data={"value": 6}, job_data={"parent": os.getpid()}).wait(30)
        assert job.status == "completed", job.error
        assert job.data["out"] == [42]
        assert job.output() == "scaling in another process\n"
    finally:
        rt.shutdown()


def test_a_remote_error_carries_the_remote_traceback(pool):
    rt = Runtime(executor=pool)
    try:
        flow = Flow("boom-tb")
        flow.routine(mod.explode, slots=["input"], events=[])
        job = rt.submit(flow, data={}).wait(30)
        assert job.error_type == "ValueError"
        assert (
            "RemoteTraceback" in job.error_traceback
            and "offload_routines.py" in job.error_traceback
        )
    finally:
        rt.shutdown()


def test_changes_to_job_data_come_back_as_a_diff(pool):
    rt = Runtime(executor=pool)
    try:
        flow = Flow("edits")
        flow.routine(mod.edit_data, slots=["input"], events=[])
        job = rt.submit(flow, data={}, job_data={"drop": 1, "grow": [0], "keep": {"a": 1}}).wait(30)
        assert job.status == "completed", job.error
        assert job.data == {"grow": [0, 1], "keep": {"a": 1}, "new": "added"}
    finally:
        rt.shutdown()


def test_builtins_and_the_mapping_form_of_emit_run_on_a_process_pool(pool):
    from routilux_nb.builtins import Mapper

    flow = Flow("builtin-remote")
    flow.add_routine(Mapper(transformation="uppercase", field="name", set={"seen": True}), "upper")
    flow.routine(mod.label, slots=["input"], events=["output"])
    flow.routine(mod.collect_items, slots=["input"], events=[])
    flow.connect("upper.output", "label.input")
    flow.connect("label.output", "collect_items.input")
    rt = Runtime(executor=pool)
    try:
        job = rt.submit(flow, data={"name": "ada", "n": 1}).wait(30)
        assert job.status == "completed", job.error
        [item] = job.data["items"]
        assert item["pid"] != os.getpid()  # emitted in another process
        assert {k: v for k, v in item.items() if k != "pid"} == {
            "name": "ADA",
            "n": 1,
            "seen": True,
        }
    finally:
        rt.shutdown()


def test_a_decorated_routine_stays_callable_and_pickles_by_reference() -> None:
    import pickle

    import decorated_routines as mod

    assert pickle.loads(pickle.dumps(mod.source)) is mod.source
    seen: list = []

    class Ctx:
        def emit(self, event, payload=None, /, **fields):
            seen.append((event, fields))

    mod.source([{"n": 2}], Ctx())  # called like the function it decorates
    assert seen == [("output", {"value": 20, "pid": os.getpid()})]


def test_a_decorated_module_level_flow_runs_on_a_process_pool() -> None:
    from concurrent.futures import ProcessPoolExecutor

    import decorated_routines as mod

    with ProcessPoolExecutor(max_workers=1) as pool:
        rt = Runtime(executor=pool)
        try:
            job = rt.submit(mod.flow, data={"n": 4}).wait(60)
        finally:
            rt.shutdown()
    assert job.status == "completed", job.error
    [(value, pid)] = job.data["seen"]
    assert value == 40 and pid != os.getpid()
