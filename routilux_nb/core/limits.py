"""Bounded reading of YAML and JSON documents.

A small document can stand for a huge one: YAML aliases (``&a [*b, *b]``) make a few hundred
bytes expand to gigabytes, and deep nesting exhausts the stack of whoever walks the result
later. Every document read from outside (flow definitions, HTTP bodies) goes through here:

* :func:`load_yaml` composes the document with a safe loader that counts as it goes, then
  measures the *expanded* size (every alias counted as the full subtree it stands for)
  before anything is constructed; a document over the limits is refused, never expanded.
* :func:`load_json` parses JSON and checks the result.
* :func:`check_value` checks an already parsed value (nodes, depth, total characters).

Limits (:data:`DEFAULT_LIMITS`): depth 64, 100,000 nodes, 1,000,000 characters of scalars.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast

import yaml

__all__ = [
    "DEFAULT_LIMITS",
    "DocumentLimitError",
    "Limits",
    "check_value",
    "load_json",
    "load_yaml",
]


@dataclass(frozen=True)
class Limits:
    """Bounds of one document: nesting depth, nodes (containers and scalars), scalar characters."""

    max_depth: int = 64
    max_nodes: int = 100_000
    max_chars: int = 1_000_000


DEFAULT_LIMITS = Limits()


class DocumentLimitError(ValueError):
    """A document is nested too deeply or expands past the size limits."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        self.reason, self.line = reason, line
        super().__init__(f"line {line}: {reason}" if line else reason)


def _too_deep(limits: Limits) -> str:
    return f"nested deeper than {limits.max_depth} levels"


def _too_many(limits: Limits) -> str:
    return f"expands to more than {limits.max_nodes} values (YAML aliases count as full copies)"


def _too_long(limits: Limits) -> str:
    return f"expands to more than {limits.max_chars} characters of text"


# -- values -------------------------------------------------------------------------------------
def check_value(value: Any, limits: Limits = DEFAULT_LIMITS, what: str = "document") -> Any:
    """Return ``value`` if it stays within ``limits``, else raise :class:`DocumentLimitError`.

    Walks iteratively (a deep value cannot exhaust the stack); a value reached twice counts
    twice, the way a serializer would write it; a container inside itself is refused.
    """
    nodes = chars = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    open_ids: set[int] = set()
    while stack:
        item, depth = stack.pop()
        if depth < 0:  # marker: leaving a container
            open_ids.discard(id(item))
            continue
        nodes += 1
        if nodes > limits.max_nodes:
            raise DocumentLimitError(f"{what} {_too_many(limits)}")
        if depth > limits.max_depth:
            raise DocumentLimitError(f"{what} {_too_deep(limits)}")
        children: Any = None
        if isinstance(item, (str, bytes)):
            chars += len(item)
        elif isinstance(item, dict):
            children = [c for kv in item.items() for c in kv]
        elif isinstance(item, (list, tuple, set, frozenset)):
            children = item
        elif isinstance(item, int) and not isinstance(item, bool):
            chars += _int_chars(item)
        else:
            chars += 1
        if chars > limits.max_chars:
            raise DocumentLimitError(f"{what} {_too_long(limits)}")
        if children is not None:
            if id(item) in open_ids:
                raise DocumentLimitError(f"{what} contains itself (a circular reference)")
            open_ids.add(id(item))
            stack.append((item, -1))
            stack.extend((c, depth + 1) for c in children)
    return value


def _int_chars(n: int) -> int:
    return max(1, n.bit_length() * 30103 // 100000 + 1)  # decimal digits, closely


# -- JSON -------------------------------------------------------------------------------------
def load_json(text: str | bytes, limits: Limits = DEFAULT_LIMITS) -> Any:
    """Parse JSON, then check it; ``json.JSONDecodeError`` for bad syntax, limits as above."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise DocumentLimitError(f"JSON document {_too_deep(limits)}") from None
    return check_value(value, limits, "JSON document")


# -- YAML -------------------------------------------------------------------------------------
class _BoundedLoader(yaml.SafeLoader):
    """A safe loader that refuses deep or expanding documents before constructing them."""

    limits: Limits = DEFAULT_LIMITS

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._depth = 0
        self._composed = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        self._composed += 1
        try:
            if self._depth > self.limits.max_depth:
                raise DocumentLimitError(f"YAML document {_too_deep(self.limits)}", self._line())
            if self._composed > self.limits.max_nodes:
                raise DocumentLimitError(f"YAML document {_too_many(self.limits)}", self._line())
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def _line(self) -> int:
        event: Any = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in PyYAML's stubs
        return int(event.start_mark.line) + 1

    def compose_document(self) -> Any:
        node = super().compose_document()
        if node is not None:
            _check_expanded(node, self.limits)
        return node


def _check_expanded(root: yaml.Node, limits: Limits) -> None:
    """Measure what ``root`` expands to (aliases share nodes: memoize per node), depth first."""
    memo: dict[int, tuple[int, int, int]] = {}  # id(node) -> (nodes, chars, depth)
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    on_path: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        if key in memo and not done:
            continue
        children = _children(node)
        if not done:
            if key in on_path:
                raise DocumentLimitError(
                    "YAML document refers to itself (recursive alias)", node.start_mark.line + 1
                )
            on_path.add(key)
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in memo)
            continue
        on_path.discard(key)
        if isinstance(node, yaml.ScalarNode):
            total = (1, len(node.value), 1)
        else:
            parts = [memo[id(c)] for c in children]
            total = (
                1 + sum(p[0] for p in parts),
                sum(p[1] for p in parts),
                1 + max((p[2] for p in parts), default=0),
            )
        memo[key] = total
        line = node.start_mark.line + 1
        if total[0] > limits.max_nodes:
            raise DocumentLimitError(f"YAML document {_too_many(limits)}", line)
        if total[1] > limits.max_chars:
            raise DocumentLimitError(f"YAML document {_too_long(limits)}", line)
        if total[2] > limits.max_depth:
            raise DocumentLimitError(f"YAML document {_too_deep(limits)}", line)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [c for kv in node.value for c in kv]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def load_yaml(text: str, limits: Limits = DEFAULT_LIMITS) -> Any:
    """``yaml.safe_load`` that refuses (``DocumentLimitError``) before expanding a document
    past ``limits``; YAML syntax errors raise ``yaml.YAMLError`` as usual."""
    loader_cls: type[_BoundedLoader] = _BoundedLoader
    if limits != DEFAULT_LIMITS:
        loader_cls = cast(
            "type[_BoundedLoader]", type("_Loader", (_BoundedLoader,), {"limits": limits})
        )
    loader = loader_cls(text)
    try:
        return loader.get_single_data()
    except RecursionError:
        raise DocumentLimitError(f"YAML document {_too_deep(limits)}") from None
    finally:
        loader.dispose()
