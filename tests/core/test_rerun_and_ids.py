"""Re-running notebook cells, ids, data passed positionally, and the worker's spec fields."""

from __future__ import annotations

import pytest

from routilux_nb.core import Flow, JobStateError, Runtime, StateError, Worker
from routilux_nb.core.ids import InvalidIdError


def greet_flow(flow_id: str = "greet") -> Flow:
    flow = Flow(flow_id)

    @flow.routine(slots=["input"], events=[])
    def greet(input, ctx):
        ctx.data["greeting"] = f"hello {input[0]['name']}"

    return flow


def test_submit_takes_the_data_positionally(rt, finished):
    job = finished(rt.submit(greet_flow(), {"name": "Ada"}))
    assert job.data == {"greeting": "hello Ada"}
    worker = rt.worker_for("greet")
    assert finished(worker.submit({"name": "Bo"})).data == {"greeting": "hello Bo"}


def test_submit_with_something_else_than_a_routine_id_names_the_right_call(rt):
    with pytest.raises(
        TypeError, match=r"routine_id must be a routine id \(str\), got list; .*data=\{"
    ):
        rt.submit(greet_flow(), ["not", "a", "mapping"])


def test_starting_the_same_flow_again_returns_the_running_worker(rt, finished):
    first = rt.start(greet_flow(), worker_id="w")
    again = rt.start(greet_flow(), worker_id="w")  # a re-run cell builds a new Flow object
    assert again is first and list(rt.workers) == ["w"]
    assert finished(rt.submit("greet", {"name": "x"}, worker_id="w")).data == {
        "greeting": "hello x"
    }


def test_a_stopped_worker_is_replaced(rt, finished):
    first = rt.start(greet_flow(), worker_id="w")
    first.stop()
    second = rt.start(greet_flow(), worker_id="w")
    assert second is not first and second.status == "running" and rt.get_worker("w") is second
    assert finished(second.submit({"name": "y"})).data == {"greeting": "hello y"}


def test_a_worker_id_running_another_flow_is_refused_with_the_remedy(rt):
    rt.start(greet_flow("one"), worker_id="w")
    with pytest.raises(StateError) as info:
        rt.start(greet_flow("two"), worker_id="w")
    message = str(info.value)
    assert "'one'" in message and "'two'" in message
    assert "choose another worker_id" in message and "rt.get_worker('w').stop()" in message


def test_a_job_id_in_use_is_refused_with_the_remedy(rt, finished):
    flow = greet_flow()
    finished(rt.submit(flow, {"name": "a"}, job_id="mine"))
    with pytest.raises(JobStateError) as info:
        rt.submit(flow, {"name": "b"}, job_id="mine")
    message = str(info.value)
    assert "omit job_id" in message and "another id" in message and "rt.get_job('mine')" in message
    assert rt.get_job("mine").data == {"greeting": "hello a"}


@pytest.mark.parametrize("bad", ["a/b", "", "..", "has space", "x" * 129])
def test_worker_and_job_ids_follow_the_id_rule(rt, bad):
    flow = greet_flow()
    with pytest.raises(InvalidIdError, match="worker id"):
        rt.start(flow, worker_id=bad)
    with pytest.raises(InvalidIdError, match="worker id"):
        Worker(rt, flow, bad)
    with pytest.raises(InvalidIdError, match="job id"):
        rt.submit(flow, {"name": "a"}, job_id=bad)
    assert isinstance(InvalidIdError("x"), ValueError)
    assert rt.jobs() == [], "nothing was created"


def test_worker_carries_the_spec_worker_state_fields(finished):
    with Runtime() as rt:
        worker = rt.start(greet_flow(), worker_id="spec")
        finished(worker.submit({"name": "z"}))
        d = worker.to_dict()
        for name in (
            "worker_id",
            "flow_id",
            "status",
            "routine_states",
            "execution_history",
            "jobs_processed",
            "jobs_failed",
            "created_at",
            "started_at",
            "completed_at",
            "error",
            "error_traceback",
            "pause_points",
            "deferred_events",
            "pending_tasks",
        ):
            assert name in d, name
        assert d["jobs_processed"] == 1 and d["routine_states"]["greet"]["execution_count"] == 1
        assert worker.execution_history.to_list() == worker.history.to_list()
        assert isinstance(d["execution_history"], list)


def test_worker_to_dict_without_monitoring():
    with Runtime(monitor=False) as rt:
        d = rt.start(greet_flow()).to_dict()
        assert d["routine_states"] == {} and d["execution_history"] == []


def test_submit_many_returns_one_job_per_item_in_order(rt):
    worker = rt.start(greet_flow())
    jobs = worker.submit_many({"name": str(i)} for i in range(600))
    assert [j.wait(10).data["greeting"] for j in jobs] == [f"hello {i}" for i in range(600)]
    assert worker.jobs_processed == 600


def test_submit_many_refuses_non_mappings_naming_the_type(rt):
    with pytest.raises(TypeError, match="job data must be a mapping"):
        rt.start(greet_flow()).submit_many([{"name": "a"}, 3])
