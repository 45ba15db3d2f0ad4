"""Logic gets its slot's items and ``ctx`` bound the same way whatever shape it is called in."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from routilux_nb.core import Flow, Runtime

TIMEOUT = 10


def _run(fn: Any, slots: tuple[str, ...] = ("input",)) -> Any:
    flow = Flow("calls")
    flow.routine(fn, slots=list(slots), events=[], routine_id="r")
    with Runtime(monitor=False) as rt:
        job = rt.start(flow).submit("r", slots[0], {"x": 1}).wait(TIMEOUT)
    return job


def _seen(job: Any) -> Any:
    assert job.status == "completed", job.error
    return job.data["seen"]


def test_slot_then_ctx_positionally_or_by_name() -> None:
    def by_position(input, ctx):
        ctx.data["seen"] = ("pos", input)

    def ctx_keyword_only(input, *, ctx):
        ctx.data["seen"] = ("kw", input)

    def ctx_later(input, extra=None, ctx=None):
        ctx.data["seen"] = ("later", input, extra)

    assert _seen(_run(by_position)) == ("pos", [{"x": 1}])
    assert _seen(_run(ctx_keyword_only)) == ("kw", [{"x": 1}])
    assert _seen(_run(ctx_later)) == ("later", [{"x": 1}], None)


def test_other_names_take_the_items_in_slot_order() -> None:
    def renamed(rows, ctx):
        ctx.data["seen"] = rows

    def only_var_keywords(ctx, **slots):
        ctx.data["seen"] = slots

    assert _seen(_run(renamed)) == [{"x": 1}]
    assert _seen(_run(only_var_keywords)) == {"input": [{"x": 1}]}


def test_a_wrapper_taking_keywords_gets_keywords() -> None:
    def keywords_only(fn):
        @functools.wraps(fn)
        def wrapper(**kwargs):  # would fail if called positionally
            return fn(**kwargs)

        return wrapper

    @keywords_only
    def logic(input, ctx):
        ctx.data["seen"] = input

    assert _seen(_run(logic)) == [{"x": 1}]


def test_a_positional_only_slot_parameter_takes_the_items_in_slot_order() -> None:
    def positional_only(input, /, ctx):
        ctx.data["seen"] = input

    assert _seen(_run(positional_only)) == [{"x": 1}]


@pytest.mark.parametrize("slots", [("a", "b")])
def test_several_slots_by_name(slots: tuple[str, ...]) -> None:
    def two(b, a, ctx):
        ctx.data["seen"] = (a, b)

    assert _seen(_run(two, slots)) == ([{"x": 1}], [])
