"""Tests for the safe condition evaluator."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from routilux_nb.core.expressions import (
    Condition,
    ExpressionError,
    compile_condition,
    evaluate,
)


@dataclass
class Job:
    name: str
    size: int
    _secret: str = "hidden"


NAMES: dict[str, Any] = {
    "data": {"value": 150, "tags": ["a", "b"], "nested": {"k": [10, 20, 30]}},
    "value": 150,
    "routine_id": "proc",
    "items": [3, 1, 2],
    "payload": {"user": {"tier": "gold", "name": "  Alice  "}},
    "missing": None,
    "job": Job("build", 7),
    "text": "Hello World",
}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("data.get('value') > 100", True),
        ("value > 100 and routine_id == 'proc'", True),
        ("value > 100 and routine_id == 'other'", False),
        ("len(items) >= 3", True),
        ("payload['user']['tier'] in ('gold', 'silver')", True),
        ("payload['user']['tier'] not in ['bronze']", True),
        ("data['nested']['k'][1] == 20", True),
        ("data['nested']['k'][-1]", 30),
        ("data.get('absent', 42)", 42),
        ("data.get('absent') is None", True),
        ("missing is None", True),
        ("missing is not None", False),
        ("'big' if value > 100 else 'small'", "big"),
        ("(value * 2 + 10) // 3 - value % 7", 100),
        ("value / 4", 37.5),
        ("2 ** 10", 1024),
        ("-value + abs(-5)", -145),
        ("min(items) + max(items)", 4),
        ("max(3, 9, key=abs)", 9),
        ("sum(items) == 6", True),
        ("sorted(items)", [1, 2, 3]),
        ("sorted(items, reverse=True)[0]", 3),
        ("round(3.14159, 2)", 3.14),
        ("int('42') + float('0.5')", 42.5),
        ("str(value) + 'x'", "150x"),
        ("bool(items) and not bool([])", True),
        ("all([value > 1, len(text) == 11])", True),
        ("text.lower().startswith('hello')", True),
        ("text.endswith('World') and text.upper() == 'HELLO WORLD'", True),
        ("payload['user']['name'].strip()", "Alice"),
        ("text.split(' ')[1]", "World"),
        ("sorted(data.keys())", ["nested", "tags", "value"]),
        ("len(list(data.values()))", 3),
        ("('value', 150) in data.items()", True),
        ("1 < value < 200", True),
        ("1 < value < 100", False),
        ("not missing or 0", True),
        ("missing or 'default'", "default"),
        ("job.name == 'build' and job.size > 5", True),
        ("isinstance(value, int) and isinstance(text, (str, list))", True),
        ("isinstance(items, dict)", False),
        ("text[::-1][:5]", "dlroW"),
        ("{'a': 1, 'b': [1, 2]}['b'][1]", 2),
        ("{1, 2} | {3}", {1, 2, 3}),
        ("(1, 2) + (3,)", (1, 2, 3)),
        ("'ab' * 3", "ababab"),
        ("[0] * 3", [0, 0, 0]),
        ("True and None is None", True),
        ("~5 & 0xFF ^ 1 | 2 << 3 >> 1", 251),
    ],
)
def test_legitimate_conditions(source: str, expected: Any) -> None:
    assert evaluate(source, **NAMES) == expected


def test_condition_object_compiles_once_and_coerces_to_bool() -> None:
    cond = compile_condition("data.get('value')")
    assert isinstance(cond, Condition)
    assert cond.source == "data.get('value')"
    assert cond.evaluate(data={"value": 7}) == 7
    assert cond(data={"value": 7}) is True
    assert cond(data={"value": 0}) is False
    assert compile_condition(cond) is cond
    assert compile_condition("value > 1") is compile_condition("value > 1")  # cached


def test_evaluation_errors_are_expression_errors() -> None:
    with pytest.raises(ExpressionError, match="KeyError"):
        evaluate("data['nope']", data={})
    with pytest.raises(ExpressionError, match="ZeroDivisionError"):
        evaluate("1 / value", value=0)
    with pytest.raises(ExpressionError, match="TypeError"):
        evaluate("value > 'a'", value=1)
    with pytest.raises(ExpressionError, match="unknown name 'nope'.*value"):
        evaluate("nope > 1", value=1)
    with pytest.raises(ExpressionError, match="AttributeError"):
        evaluate("job.nope", job=Job("a", 1))
    with pytest.raises(ExpressionError, match="IndexError"):
        evaluate("items[10]", items=[])


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("value >", "invalid syntax at column"),
        ("", "empty"),
        ("a = 1", "invalid syntax"),
        ("import os", "invalid syntax"),
        ("1; 2", "invalid syntax"),
    ],
)
def test_syntax_errors(source: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        compile_condition(source)


def test_wrong_source_type() -> None:
    with pytest.raises(ExpressionError, match="string or callable"):
        compile_condition(5)  # type: ignore[arg-type]


# --- callables --------------------------------------------------------------------------


def test_callable_receives_only_accepted_names() -> None:
    cond = compile_condition(lambda data: data["v"] > 1)
    assert cond.source is None
    assert cond(data={"v": 2}, routine_id="r", extra=1) is True
    assert cond(data={"v": 0}) is False
    assert cond.evaluate(data={"v": 5}) is True


def test_callable_with_kwargs_and_keyword_only() -> None:
    seen: dict[str, Any] = {}

    def everything(**names: Any) -> bool:
        seen.update(names)
        return True

    def kw_only(*, value: int, limit: int = 10) -> bool:
        return value > limit

    assert compile_condition(everything)(a=1, b=2) is True
    assert seen == {"a": 1, "b": 2}
    assert compile_condition(kw_only)(value=11, other="x") is True
    assert compile_condition(kw_only)(value=11, limit=20) is False


def test_callable_errors_are_wrapped() -> None:
    cond = compile_condition(lambda data: data["missing"])
    with pytest.raises(ExpressionError, match="KeyError") as info:
        cond(data={})
    assert isinstance(info.value.__cause__, KeyError)


# --- sandbox escapes ----------------------------------------------------------------------


class Sentinel:
    """Public object whose methods record whether anything executed."""

    def __init__(self) -> None:
        self.hits: list[str] = []

    def mark(self, *args: Any) -> bool:
        self.hits.append("mark")
        return True

    def __call__(self, *args: Any) -> bool:
        self.hits.append("call")
        return True


HIT_GLOBAL = {"touched": False}


def _touch_global(*args: Any) -> bool:
    HIT_GLOBAL["touched"] = True
    return True


def _generator() -> Any:
    yield 1


COMPILE_TIME_PAYLOADS = [
    "().__class__.__base__.__subclasses__()",
    "().__class__.__bases__[0].__subclasses__()",
    "__import__('os').system('touch {path}')",
    "__import__('pathlib').Path('{path}').touch()",
    "__builtins__",
    "__builtins__['open']('{path}', 'w')",
    "[].__class__.__mro__",
    "[].__class__.mro()",
    "'{{0.__class__}}'.format(1)",
    "'{{0.__globals__}}'.format(f)",
    "str.format('{{0.__class__}}', 1)",
    "'{{x}}'.format_map(data)",
    "'%s' % x",
    "'%(value)s' % data",
    "(lambda: 1)()",
    "(lambda x: x)(1)",
    "[x for x in ().__class__.__bases__]",
    "{{x: 1 for x in range(3)}}",
    "{{x for x in items}}",
    "list(x for x in items)",
    "(y := 1)",
    "f'{{1}}'",
    "f'{{f()}}'",
    "getattr(1, '__class__')",
    "eval('1')",
    "exec('1')",
    "compile('1', 'f', 'eval')",
    "open('{path}', 'w')",
    "globals()",
    "locals()",
    "vars()",
    "dir()",
    "type(1)",
    "type(1).__subclasses__(type(1))",
    "setattr(sentinel, 'hits', 1)",
    "data.__dict__",
    "job._secret",
    "data._private",
    "data.get.__self__",
    "func.__code__",
    "func.__globals__['HIT_GLOBAL']",
    "x.gi_frame",
    "x.gi_frame.f_globals",
    "x.f_globals",
    "x.f_back",
    "x.co_code",
    "x.tb_frame",
    "x.cr_frame",
    "x.ag_frame",
    "func.func_globals",
    "sentinel.mark()",
    "f()",
    "data['f']()",
    "sentinel()",
    "[*items]",
    "max(*items)",
    "{{**data}}",
    "dict(**data)",
    "await x",
    "(yield)",
    "items @ items",
    "...",
    "__import__",
    "_",
]

RUN_TIME_PAYLOADS = [
    "2 ** 10 ** 10",
    "9 ** 9 ** 9",
    "10 ** 5000",
    "(10 ** 400) ** 20",
    "1 << 10 ** 9",
    "'a' * 10 ** 9",
    "10 ** 9 * 'a'",
    "[1] * 10 ** 9",
    "(1,) * 10 ** 9",
    "[[0] * 99999] * 99999",
    "('a' * 99999) + ('b' * 99999)",
    "fmt % data",
    "fmt % (1,)",
    "round(1, -10 ** 9)",
    "int('9' * 4000)",
    "sum([[1] * 100] * 100, [])",
    "str([[0] * 99999, [0] * 99999])",
    "sorted(items, key=sentinel.mark)",
    "max(items, key=f)",
    "sorted(items, key=sentinel)",
    "str.lower('A')",
    "dict.get(data, 'value')",
    "isinstance(1, sentinel)",
    "mod.environ",
]


@pytest.fixture
def sandbox(tmp_path: Path) -> dict[str, Any]:
    HIT_GLOBAL["touched"] = False
    sentinel = Sentinel()
    import os

    return {
        "path": tmp_path / "pwned",
        "sentinel": sentinel,
        "names": {
            "data": {"value": 1, "f": _touch_global},
            "f": _touch_global,
            "func": _touch_global,
            "x": _generator(),
            "items": [1, 2, 3],
            "job": Job("a", 1),
            "sentinel": sentinel,
            "fmt": "%s",
            "mod": os,
        },
    }


def _assert_untouched(sandbox: dict[str, Any]) -> None:
    assert not sandbox["path"].exists()
    assert sandbox["sentinel"].hits == []
    assert HIT_GLOBAL["touched"] is False


@pytest.mark.parametrize("payload", COMPILE_TIME_PAYLOADS)
def test_escape_refused_at_compile_time(payload: str, sandbox: dict[str, Any]) -> None:
    source = payload.format(path=sandbox["path"])
    with pytest.raises(ExpressionError, match="refused|invalid syntax"):
        compile_condition(source)
    with pytest.raises(ExpressionError):
        evaluate(source, **sandbox["names"])
    _assert_untouched(sandbox)


@pytest.mark.parametrize("payload", RUN_TIME_PAYLOADS)
def test_resource_and_runtime_abuse_refused(payload: str, sandbox: dict[str, Any]) -> None:
    try:
        cond = compile_condition(payload)
    except ExpressionError as exc:  # constant parts that can only fail are refused when compiled
        assert "refused" in str(exc)
        return
    start = time.perf_counter()
    with pytest.raises(ExpressionError, match="refused"):
        cond(**sandbox["names"])
    assert time.perf_counter() - start < 1.0
    _assert_untouched(sandbox)


def test_modules_are_not_reachable_through_attributes() -> None:
    import os

    @dataclass
    class Holder:
        os: Any

    with pytest.raises(ExpressionError, match="module"):
        evaluate("h.os.environ.get('HOME')", h=Holder(os))


def test_long_and_deeply_nested_expressions() -> None:
    with pytest.raises(ExpressionError, match="10000 characters"):
        compile_condition("1 + " * 2499 + "1000")
    with pytest.raises(ExpressionError, match="characters"):
        compile_condition("(" * 500 + "1" + ")" * 500)
    deep = [
        "(" * 500 + "1" + ")" * 500,
        "[" * 500 + "]" * 500,
        "-" * 5000 + "1",
        "not " * 3000 + "x",
        "x" + "[0]" * 3000,
        "x" + ".a" * 3000,
        "+".join(["1"] * 5000),
        "+".join(["1"] * 150),
        "abs(" * 190 + "1" + ")" * 190,
    ]
    for source in deep:
        with pytest.raises(ExpressionError, match="nested|invalid syntax"):
            compile_condition(source, max_length=100_000)
    assert evaluate("+".join(["1"] * 90)) == 90


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("().__class__", ".__class__"),
        ("__import__('os')", "__import__"),
        ("(lambda: 1)()", "lambda"),
        ("[x for x in y]", "list comprehension"),
        ("{x: 1 for x in y}", "dict comprehension"),
        ("(y := 1)", ":="),
        ("f'{x}'", "f-string"),
        ("'{}'.format(x)", ".format"),
        ("open('/etc/passwd')", "open()"),
        ("x.gi_frame", ".gi_frame"),
        ("'%s' % x", "'%' string formatting"),
    ],
)
def test_refusal_message_names_the_construct(source: str, fragment: str) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_condition(source)
    message = str(info.value)
    assert fragment in message
    assert "allowed:" in message


def test_runtime_limit_messages() -> None:
    with pytest.raises(ExpressionError, match="exponent"):
        evaluate("2 ** 10 ** 10")
    with pytest.raises(ExpressionError, match="repetition"):
        evaluate("'a' * 10 ** 9")
    with pytest.raises(ExpressionError, match="string formatting"):
        evaluate("x % 1", x="%d")
    with pytest.raises(ExpressionError, match="4096 bits"):
        evaluate("3 ** 4000")


def test_large_payloads_are_not_scanned_per_evaluation() -> None:
    data = {f"k{i}": [i] * 10 for i in range(200_000)}
    cond = compile_condition("data['k5'][0] == 5 and len(data) > 10")
    start = time.perf_counter()
    for _ in range(1000):
        assert cond(data=data)
    assert time.perf_counter() - start < 0.5


def test_public_attributes_allowed_private_refused() -> None:
    job = Job("deploy", 3)
    assert evaluate("job.name.upper()", job=job) == "DEPLOY"
    with pytest.raises(ExpressionError, match="_secret"):
        evaluate("job._secret", job=job)
    with pytest.raises(ExpressionError, match=r"\.mro"):
        evaluate("job.mro", job=job)


def test_thread_safe_evaluation() -> None:
    cond = compile_condition("value * 2 == expected")
    failures: list[int] = []

    def worker(offset: int) -> None:
        for i in range(2000):
            if not cond(value=i + offset, expected=2 * (i + offset)):
                failures.append(i)

    threads = [threading.Thread(target=worker, args=(n * 10_000,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_compiled_condition_is_fast() -> None:
    cond = compile_condition("value > 100")
    runs = 20_000
    start = time.perf_counter()
    for _ in range(runs):
        cond(value=150)
    per_call = (time.perf_counter() - start) / runs
    assert per_call < 50e-6  # typically ~1 µs


# -- refused when compiled: what could only fail at every evaluation ------------------------
@pytest.mark.parametrize(
    "source",
    [
        "9**9**9",
        "value > 9**9**9",
        "1 / 0",
        "'a' - 1",
        "-(2**5000) < value",
        "'" + "a" * 1001 + "'",
        "1 << 100000",
    ],
)
def test_compile_refuses_what_can_only_fail(source: str) -> None:
    with pytest.raises(ExpressionError, match="refused"):
        compile_condition(source, max_length=5000)


def test_constant_parts_that_work_are_kept() -> None:
    cond = compile_condition("value > 2**10 - 1 and 'ab' * 2 == 'abab'")
    assert cond(value=2000) is True
    assert cond(value=5) is False


def test_tree_size_is_bounded() -> None:
    source = "[" + ", ".join(["value"] * 1500) + "]"
    with pytest.raises(ExpressionError, match="syntax nodes"):
        compile_condition(source, max_length=100_000)


@pytest.mark.parametrize(
    ("expr", "names", "expected"),
    [
        ("isnan(x)", {"x": float("nan")}, True),
        ("isnan(x)", {"x": 1.5}, False),
        ("isnan(x)", {"x": "nan"}, False),  # a string is not a number: false, never an error
        ("isnan(x)", {"x": None}, False),
        ("isnull(x)", {"x": None}, True),
        ("isnull(x)", {"x": float("nan")}, True),
        ("isnull(x)", {"x": 0}, False),
        ("not isnull(x) and x > 1", {"x": 2.0}, True),
    ],
)
def test_nan_and_missing_values_can_be_tested(expr: str, names: dict, expected: bool) -> None:
    assert compile_condition(expr)(**names) is expected


def test_isnull_knows_pandas_missing_markers_and_numpy_nan() -> None:
    import numpy as np
    import pandas as pd

    check = compile_condition("isnull(x)")
    assert check(x=pd.NA) and check(x=pd.NaT) and check(x=np.float64("nan"))
    assert not check(x=np.float64(1.0))
