"""Safe condition expressions: a whitelisted subset of Python, never ``eval``/``exec``.

Source is parsed once, every node is checked against a whitelist, and the tree is compiled
into closures. Run time and memory are bounded by caps on integer size, exponents, shifts
and sequence repetition/concatenation, and by the size of the tree (at most ``MAX_NODES``
nodes, each producing at most ``MAX_SIZE`` items), so one evaluation costs at most
``MAX_NODES * MAX_SIZE`` steps beyond reading its inputs. What can only fail is refused when
compiled: literals over the caps, and constant parts that fail (``9**9**9``, ``1/0``).
"""

from __future__ import annotations

import ast
import functools
import inspect
import operator as op
import types
from collections.abc import Callable, Mapping
from typing import Any

from ._expr_guards import (
    _BINOPS,
    _MISSING,
    _TYPES,
    MAX_DEPTH,
    MAX_INT_BITS,
    MAX_LENGTH,
    MAX_LITERAL,
    MAX_NODES,
    ExpressionError,
    _arith,
    _Eval,
    _fit,
    _isinstance,
    _isnan,
    _isnull,
    _limit,
    _round,
    _str,
    _sum,
)

__all__ = ["Condition", "ExpressionError", "compile_condition", "evaluate"]


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    **_TYPES,
    "len": len, "abs": abs, "min": min, "max": max, "round": _round, "str": _str,
    "sum": _sum, "any": any, "all": all, "sorted": sorted, "isinstance": _isinstance,
    "isnan": _isnan, "isnull": _isnull,
}  # fmt: skip
_NAMES: dict[str, Any] = {**_FUNCTIONS, **_TYPES}  # bare names: `str` is the type
_KEY_FUNCS = tuple(_NAMES.values())
_METHODS: dict[str, tuple[type, ...]] = {
    **dict.fromkeys(("get", "keys", "values", "items"), (Mapping,)),
    **dict.fromkeys(("startswith", "endswith", "lower", "upper", "strip", "split"), (str,)),
}
_BLOCKED_PREFIXES = ("_", "gi_", "f_", "co_", "tb_", "cr_", "ag_", "func_", "im_")
_BLOCKED = frozenset({"mro", "format", "format_map"})
_GUARDED = (ast.Add, ast.Mult, ast.Pow, ast.LShift, ast.Mod)
_UNARY: dict[type, Callable[[Any], Any]] = {
    ast.Not: op.not_, ast.USub: op.neg, ast.UAdd: op.pos, ast.Invert: op.invert,
}  # fmt: skip
_CMPOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: op.eq, ast.NotEq: op.ne, ast.Lt: op.lt, ast.LtE: op.le, ast.Gt: op.gt,
    ast.GtE: op.ge, ast.Is: op.is_, ast.IsNot: op.is_not,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}  # fmt: skip
_ALLOWED_NODES = frozenset(
    {ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.BinOp, ast.UnaryOp, ast.Compare,
     ast.IfExp, ast.Call, ast.keyword, ast.Attribute, ast.Subscript, ast.Slice, ast.Name,
     ast.Constant, ast.List, ast.Tuple, ast.Dict, ast.Set, ast.Load,
     *_BINOPS, *_UNARY, *_CMPOPS}
)  # fmt: skip
_CONSTANT_TYPES = (int, float, complex, str, bytes, bool, type(None))
_NODE_NAMES = {
    ast.Lambda: "lambda", ast.ListComp: "list comprehension",
    ast.SetComp: "set comprehension", ast.DictComp: "dict comprehension",
    ast.GeneratorExp: "generator expression", ast.NamedExpr: "assignment expression (:=)",
    ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield from",
    ast.JoinedStr: "f-string", ast.FormattedValue: "f-string",
    ast.Starred: "star (*) unpacking", ast.MatMult: "operator @",
}  # fmt: skip
_ALLOWED = (
    "allowed: comparisons (incl. in, not in, is), and/or/not, arithmetic, literals, "
    "subscripts and slices, public attributes, x if c else y, functions "
    f"{', '.join(sorted(_FUNCTIONS))}; methods {', '.join(sorted(_METHODS))}"
)


def _refuse(what: str, why: str, node: ast.AST | None = None) -> ExpressionError:
    col = getattr(node, "col_offset", None)
    where = "" if col is None else f" at column {col + 1}"
    return ExpressionError(f"refused {what}{where}: {why} ({_ALLOWED})")


def _problem(node: ast.AST) -> tuple[str, str] | None:
    """Return (construct, reason) if ``node`` is outside the whitelist."""
    if type(node) not in _ALLOWED_NODES:
        return _NODE_NAMES.get(type(node), type(node).__name__), "not allowed in conditions"
    match node:
        case ast.Name(id=name) if name.startswith("_"):
            return f"name {name!r}", "names starting with '_' are not allowed"
        case ast.Attribute(attr=attr) if attr.startswith(_BLOCKED_PREFIXES) or attr in _BLOCKED:
            return f"attribute .{attr}", "private and interpreter-internal attributes are blocked"
        case ast.Constant(value=value) if not isinstance(value, _CONSTANT_TYPES):
            return f"constant {value!r}", "unsupported literal"
        case ast.Constant(value=str() | bytes() as text) if len(text) > MAX_LITERAL:
            return f"literal of {len(text)} characters", f"literals are limited to {MAX_LITERAL}"
        case ast.Constant(value=int() as number) if number.bit_length() > MAX_INT_BITS:
            return "integer literal", f"larger than {MAX_INT_BITS} bits"
        case ast.Dict(keys=keys) if None in keys:
            return "'**' unpacking", "not allowed in conditions"
        case ast.keyword(arg=None):
            return "'**' unpacking", "not allowed in conditions"
        case ast.BinOp(op=ast.Mod(), left=ast.Constant(value=str() | bytes())):
            return "'%' string formatting", "not allowed in conditions"
        case ast.Call(func=ast.Name(id=name)) if name not in _FUNCTIONS:
            return f"call to {name}()", "function not whitelisted"
        case ast.Call(func=ast.Attribute(attr=attr)) if attr not in _METHODS:
            return f"call to method .{attr}()", "method not whitelisted"
        case ast.Call(func=func) if not isinstance(func, (ast.Name, ast.Attribute)):
            return "call of a computed value", "only named functions may be called"
    return None


def _validate(tree: ast.AST) -> None:
    """Whitelist every node (iteratively, so depth cannot exhaust the stack).

    Refused calls are reported only if nothing inside them is refused, so that the
    message names the innermost offending construct (``lambda``, ``__import__``...).
    """
    stack, refused_call, count = [(tree, 0)], None, 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise _refuse("expression", f"more than {MAX_NODES} syntax nodes", node)
        if depth > MAX_DEPTH:
            raise _refuse("expression", f"nested deeper than {MAX_DEPTH} levels", node)
        if problem := _problem(node):
            if not isinstance(node, ast.Call):
                raise _refuse(*problem, node)
            refused_call = refused_call or _refuse(*problem, node)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    if refused_call:
        raise refused_call


def _getattr(obj: Any, attr: str) -> Any:
    if isinstance(obj, types.ModuleType):
        raise _limit(f"attribute .{attr} of a module", "modules are not accessible")
    value = getattr(obj, attr)
    if isinstance(value, types.ModuleType):
        raise _limit(f"attribute .{attr}", "modules are not accessible")
    return value


def _name(ident: str) -> _Eval:
    builtin = _NAMES.get(ident, _MISSING)

    def name(ns: dict[str, Any]) -> Any:
        try:
            return ns[ident]
        except KeyError:
            if builtin is not _MISSING:
                return builtin
            known = ", ".join(sorted(ns)) or "none"
            raise ExpressionError(f"unknown name {ident!r} (available: {known})") from None

    return name


def _call(node: ast.Call) -> _Eval:
    args = [_compile(a) for a in node.args]
    # the validator refused ``**mapping`` (a keyword without a name) and other callees
    kwargs = [(k.arg, _compile(k.value)) for k in node.keywords if k.arg is not None]
    func = node.func
    if isinstance(func, ast.Name):
        fn = _FUNCTIONS[func.id]

        def call(ns: dict[str, Any]) -> Any:
            kw = {k: v(ns) for k, v in kwargs}
            key = kw.get("key")
            if key is not None and not any(key is f for f in _KEY_FUNCS):
                raise _limit("key= function", "key must be one of the whitelisted functions")
            return _fit(fn(*[a(ns) for a in args], **kw))

        return call
    assert isinstance(func, ast.Attribute)
    attr, owner, kinds = func.attr, _compile(func.value), _METHODS[func.attr]

    def method(ns: dict[str, Any]) -> Any:
        obj = owner(ns)
        if not isinstance(obj, kinds):
            raise _limit(f".{attr}() on {type(obj).__name__}", f"only on {kinds[0].__name__}")
        return getattr(obj, attr)(*[a(ns) for a in args], **{k: v(ns) for k, v in kwargs})

    return method


def _compile(node: Any) -> _Eval:
    """Turn a validated node into a closure taking the names dict."""
    c = _compile
    match node:
        case ast.Constant(value=value):
            return lambda ns: value
        case ast.Name(id=ident):
            return _name(ident)
        case ast.Compare(left=left, ops=[cmp_op], comparators=[right]):
            cmp, lhs, rhs = _CMPOPS[type(cmp_op)], c(left), c(right)
            return lambda ns: cmp(lhs(ns), rhs(ns))
        case ast.Compare(left=left, ops=ops, comparators=rights):
            first = c(left)
            pairs = [(_CMPOPS[type(o)], c(r)) for o, r in zip(ops, rights, strict=True)]

            def chain(ns: dict[str, Any]) -> Any:
                a, result = first(ns), True
                for cmp, right in pairs:
                    if not (result := cmp(a, b := right(ns))):
                        return result
                    a = b
                return result

            return chain
        case ast.BoolOp(op=bool_op, values=values):
            parts, is_and = [c(v) for v in values], isinstance(bool_op, ast.And)

            def boolop(ns: dict[str, Any]) -> Any:
                for part in parts:
                    if bool(result := part(ns)) is not is_and:
                        return result
                return result

            return boolop
        case ast.BinOp(op=bin_op, left=left, right=right):
            kind, fn, lhs, rhs = type(bin_op), _BINOPS[type(bin_op)], c(left), c(right)
            if kind in _GUARDED:
                return lambda ns: _arith(kind, lhs(ns), rhs(ns))
            return lambda ns: fn(lhs(ns), rhs(ns))
        case ast.UnaryOp(op=unary_op, operand=operand):
            ufn, arg = _UNARY[type(unary_op)], c(operand)
            return lambda ns: ufn(arg(ns))
        case ast.IfExp(test=test, body=body, orelse=orelse):
            t, yes, no = c(test), c(body), c(orelse)
            return lambda ns: yes(ns) if t(ns) else no(ns)
        case ast.Subscript(value=value, slice=index):
            obj, key = c(value), c(index)
            return lambda ns: obj(ns)[key(ns)]
        case ast.Slice(lower=lower, upper=upper, step=step):
            lo, hi, st = (c(p) if p else (lambda ns: None) for p in (lower, upper, step))
            return lambda ns: slice(lo(ns), hi(ns), st(ns))
        case ast.Attribute(value=value, attr=attr):
            owner = c(value)
            return lambda ns: _getattr(owner(ns), attr)
        case ast.Call():
            return _call(node)
        case ast.Dict(keys=keys, values=values):
            items = [(c(k), c(v)) for k, v in zip(keys, values, strict=True)]
            return lambda ns: {k(ns): v(ns) for k, v in items}
    elts = [c(e) for e in node.elts]  # List, Tuple, Set
    build = {ast.List: list, ast.Tuple: tuple, ast.Set: set}[type(node)]
    return lambda ns: build([e(ns) for e in elts])


class Condition:
    """A compiled condition; call it with variable names to get a bool."""

    __slots__ = ("_label", "_run", "source")

    def __init__(self, source: str | None, run: _Eval, label: str | None = None) -> None:
        self.source = source
        self._run = run
        self._label = source if label is None else label

    def _checked(self, names: dict[str, Any]) -> Any:
        try:
            return self._run(names)
        except ExpressionError:
            raise
        except Exception as exc:  # evaluation errors of any kind are reported uniformly
            raise ExpressionError(
                f"evaluating {self._label!r} failed: {type(exc).__name__}: {exc}"
            ) from exc

    def evaluate(self, **names: Any) -> Any:
        """Evaluate with ``names`` as variables and return the raw value."""
        return self._checked(names)

    def __call__(self, **names: Any) -> bool:
        """Evaluate with ``names`` as variables; the result is coerced to bool."""
        return bool(self._checked(names))

    def __repr__(self) -> str:
        return f"Condition({self._label!r})"


def _from_callable(fn: Callable[..., Any]) -> Condition:
    """Wrap a callable; it receives only the names its signature accepts."""
    label = getattr(fn, "__qualname__", repr(fn))
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # no signature: pass everything
        params = [inspect.Parameter("names", inspect.Parameter.VAR_KEYWORD)]
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return Condition(None, lambda ns: fn(**ns), label)
    wanted = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return Condition(None, lambda ns: fn(**{k: v for k, v in ns.items() if k in wanted}), label)


@functools.lru_cache(maxsize=1024)
def _compile_source(source: str) -> Condition:
    text = source.strip()
    if not text:
        raise ExpressionError("refused empty condition")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"invalid syntax at column {exc.offset}: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise _refuse("expression", f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # e.g. null bytes
        raise ExpressionError(f"invalid condition: {exc}") from None
    _validate(tree)
    _fold_constants(tree.body)
    return Condition(source, _compile(tree.body))


_CONST_NODES = (
    ast.Constant,
    ast.BinOp,
    ast.UnaryOp,
    ast.Compare,
    ast.BoolOp,
    ast.IfExp,
    ast.List,
    ast.Tuple,
    ast.Set,
    ast.Dict,
    *_BINOPS,
    *_UNARY,
    *_CMPOPS,
    ast.And,
    ast.Or,
    ast.Load,
)


def _fold_constants(root: ast.AST) -> None:
    """Evaluate every operation whose operands are all literals; refuse one that fails, since
    it would fail at every evaluation (``9**9**9``, ``1/0``, ``"a" - 1``)."""
    constant: dict[int, bool] = {}
    for node in reversed(list(ast.walk(root))):  # children before parents
        constant[id(node)] = isinstance(node, _CONST_NODES) and all(
            constant[id(child)] for child in ast.iter_child_nodes(node)
        )
    for node in ast.walk(root):
        if isinstance(node, (ast.BinOp, ast.UnaryOp)) and constant[id(node)]:
            try:
                _compile(node)({})
            except ExpressionError as exc:
                raise ExpressionError(
                    f"{exc} (constant part at column {node.col_offset + 1} can only fail)"
                ) from None
            except Exception as exc:
                raise ExpressionError(
                    f"refused constant expression at column {node.col_offset + 1}: "
                    f"it always fails ({type(exc).__name__}: {exc})"
                ) from None


def compile_condition(
    source: str | Callable[..., Any], *, max_length: int = MAX_LENGTH
) -> Condition:
    """Validate and compile ``source`` (expression text or a callable) into a Condition."""
    if isinstance(source, Condition):
        return source
    if callable(source):
        return _from_callable(source)
    if not isinstance(source, str):
        raise ExpressionError(
            f"condition must be a string or callable, not {type(source).__name__}"
        )
    if len(source) > max_length:
        raise ExpressionError(f"refused condition of {len(source)} characters (max {max_length})")
    return _compile_source(source)


def evaluate(source: str, **names: Any) -> Any:
    """Compile (cached) and evaluate ``source`` with ``names``; return the raw value."""
    return compile_condition(source).evaluate(**names)
