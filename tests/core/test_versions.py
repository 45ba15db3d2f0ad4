"""Flow versions: a changed flow under a known id is a new version; jobs record theirs; older
versions can still run; with a store, versions and flows come back in a new runtime."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import routilux_nb  # noqa: F401  (builtins, store opener)
from routilux_nb.core import Flow, Runtime, load_flow

REPO = Path(__file__).resolve().parents[2]
DSL = """
flow_id: tagger
routines:
  tag: {{class: mapper, config: {{set: {{tag: {tag}}}}}}}
  out: {{class: collector, config: {{key: out}}}}
connections:
  - {{from: tag.output, to: out.input}}
"""


def test_changed_definitions_make_versions_and_unchanged_ones_do_not(rt: Runtime) -> None:
    v1 = load_flow(DSL.format(tag="one"))
    rt.register_flow(v1)
    rt.register_flow(
        load_flow(DSL.format(tag="one")), replace=True
    )  # a re-run cell: same definition
    assert [v.version for v in rt.flow_versions.list("tagger")] == [1]
    rt.register_flow(load_flow(DSL.format(tag="two")), replace=True)
    versions = rt.flow_versions.list("tagger")
    assert [v.version for v in versions] == [2, 1]
    assert versions[0].definition["routines"]["tag"]["config"] == {"set": {"tag": "two"}}
    item = versions[0].to_dict()
    assert set(item) == {"flow_id", "version", "created_at", "digest", "dsl", "definition"}
    assert "tag: two" in item["dsl"] and item["created_at"].endswith("+00:00")


def test_redefining_a_function_routine_is_a_new_version(rt: Runtime) -> None:
    def build(factor: int) -> Flow:
        flow = Flow("fn-flow")
        if factor == 2:

            @flow.routine(slots=["input"], events=[])
            def scale(input, ctx):
                ctx.data["y"] = input[0]["x"] * 2
        else:

            @flow.routine(slots=["input"], events=[])
            def scale(input, ctx):
                ctx.data["y"] = input[0]["x"] * 3

        return flow

    first = rt.submit(build(2), data={"x": 1}).wait(10)
    second = rt.submit(build(3), data={"x": 1}).wait(10)
    assert (first.flow_version, second.flow_version) == (1, 2)
    assert second.data == {"y": 3} and second.to_dict()["flow_version"] == 2


def test_jobs_can_run_an_older_version(rt: Runtime) -> None:
    rt.register_flow(load_flow(DSL.format(tag="one")))
    rt.register_flow(load_flow(DSL.format(tag="two")), replace=True)
    new = rt.submit("tagger", data={"n": 1}).wait(10)
    old = rt.submit("tagger", data={"n": 1}, version=1).wait(10)
    assert new.data["out"] == [{"n": 1, "tag": "two"}] and new.flow_version == 2
    assert old.data["out"] == [{"n": 1, "tag": "one"}] and old.flow_version == 1
    assert rt.get_flow("tagger").to_dict()["routines"]["tag"]["config"] == {"set": {"tag": "two"}}
    with pytest.raises(KeyError, match=r"has no version 7; its versions: \[1, 2\]"):
        rt.submit("tagger", data={}, version=7)


def test_versions_and_flows_come_back_from_the_store(tmp_path: Path) -> None:
    db = tmp_path / "jobs.db"
    first = Runtime(store=db)
    try:
        first.register_flow(load_flow(DSL.format(tag="one")))
        first.register_flow(load_flow(DSL.format(tag="two")), replace=True)
        only_here = Flow("local-fn")

        @only_here.routine(slots=["input"], events=[])
        def unregistered_step(input, ctx):
            ctx.data["ok"] = True

        first.submit(only_here, data={}).wait(10)
    finally:
        first.shutdown()
    # a new process (a restarted kernel) knows the DSL of "tagger" but not the function of "local-fn"
    script = f"""
import json, routilux_nb
from routilux_nb.core import Runtime
rt = Runtime(store={str(db)!r})
job = rt.submit("tagger", data={{"n": 5}}).wait(10)
old = rt.submit("tagger", data={{"n": 5}}, version=1).wait(10)
print(json.dumps({{"versions": [v.version for v in rt.flow_versions.list("tagger")],
                  "out": job.data["out"], "job_version": job.flow_version, "old_tag": old.data["out"][0]["tag"],
                  "flows": sorted(rt.flows), "unavailable": rt.unavailable_flows}}))
rt.shutdown()
"""
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["versions"] == [2, 1] and seen["job_version"] == 2
    assert seen["out"] == [{"n": 5, "tag": "two"}] and seen["old_tag"] == "one"
    assert seen["flows"] == ["tagger"]
    assert "unregistered_step" in seen["unavailable"]["local-fn"]
