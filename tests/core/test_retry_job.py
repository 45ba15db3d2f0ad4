import pytest

from routilux_nb import Flow, JobStateError


def _flow(calls):
    flow = Flow("retry_job")

    @flow.routine(slots=["input"], events=["output"])
    def source(input, ctx):
        calls.append("source")
        ctx.data["seen"] = True
        for item in input:
            ctx.emit("output", value=item["value"])

    @flow.routine(slots=["input"], events=[])
    def fragile(input, ctx):
        calls.append("fragile")
        if not ctx.data.get("fixed"):
            raise RuntimeError("downstream service down")
        ctx.data["out"] = [i["value"] for i in input]

    flow.connect("source.output", "fragile.input")
    return flow


def test_retry_restarts_at_the_failed_step_with_its_items_and_data(rt):
    calls = []
    worker = rt.start(_flow(calls))
    job = worker.submit(data={"value": 7}).wait(5)
    assert job.status == "failed" and "downstream service down" in job.error
    job.data["fixed"] = True  # e.g. after repairing the cause
    again = job.retry().wait(5)
    assert again.status == "completed"
    assert again.data["out"] == [7] and again.data["seen"] is True
    assert again.metadata["retry_of"] == job.job_id
    assert calls == ["source", "fragile", "fragile"]  # the source did not run again


def test_retry_of_a_cancelled_job_restarts_from_its_entry(rt):
    calls = []
    worker = rt.start(_flow(calls))
    worker.pause()
    job = worker.submit(data={"value": 1}, job_data={"fixed": True})
    job.cancel("wrong input")
    worker.resume()
    again = job.retry().wait(5)
    assert again.status == "completed" and again.data["out"] == [1]
    assert calls == ["source", "fragile"]


def test_only_failed_or_cancelled_jobs_can_be_retried(rt):
    worker = rt.start(_flow([]))
    job = worker.submit(data={"value": 1}, job_data={"fixed": True}).wait(5)
    with pytest.raises(JobStateError, match="only failed or cancelled"):
        job.retry()
