"""POST /jobs/{id}/retry: a failed job restarts at its failed step (seed 004's run retry)."""

from __future__ import annotations

from routilux_nb import Flow


def test_retry_a_failed_job_over_http(client, rt):
    flow = Flow("flaky")
    attempts = []

    @flow.routine(slots=["input"], events=[])
    def flaky(input, ctx):
        attempts.append(input[0]["n"])
        if len(attempts) == 1:
            raise ConnectionError("upstream unavailable")
        ctx.data["done"] = input[0]["n"]

    rt.register_flow(flow)
    job = client.post("/api/v1/jobs", json={"flow_id": "flaky", "data": {"n": 5}}).json()
    assert client.post(f"/api/v1/jobs/{job['job_id']}/wait").json()["final_status"] == "failed"

    r = client.post(f"/api/v1/jobs/{job['job_id']}/retry")
    assert r.status_code == 202
    new = r.json()
    assert new["job_id"] != job["job_id"] and new["metadata"]["retry_of"] == job["job_id"]
    assert client.post(f"/api/v1/jobs/{new['job_id']}/wait").json()["final_status"] == "completed"
    assert client.get(f"/api/v1/jobs/{new['job_id']}/data").json()["data"] == {"done": 5}
    assert attempts == [5, 5]

    again = client.post(f"/api/v1/jobs/{new['job_id']}/retry")
    assert again.status_code == 409 and again.json()["error"]["code"] == "INVALID_STATE"
    assert client.post("/api/v1/jobs/nope/retry").json()["error"]["code"] == "JOB_NOT_FOUND"
