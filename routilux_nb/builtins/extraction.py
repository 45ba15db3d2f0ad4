"""Extracting structured results from text: :class:`ResultExtractor`.

Typical input is the reply of a language model or the output of a code interpreter: JSON in
a fenced code block, a bare JSON string, YAML, XML, or a list of ``{format, content}``
records. Parsing uses ``json`` and ``yaml.safe_load`` only; nothing is evaluated.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from routilux_nb.core.context import ActivationContext
from routilux_nb.core.registry import registry

from ._config import ConfiguredRoutine, Payload

__all__ = ["EXTRACTOR_ORDER", "STRATEGIES", "ExtractionError", "ResultExtractor", "code_blocks"]

log = logging.getLogger(__name__)

#: ``fn(data, config) -> (extracted, format, metadata)``, or ``None`` when it does not apply
Extractor = Callable[[Any, Mapping[str, Any]], Any]

STRATEGIES = ("auto", "priority", "first_match", "all")
#: default order: specific formats first, plain containers last (custom extractors in between)
EXTRACTOR_ORDER = (
    "interpreter_output",
    "json_code_block",
    "json_string",
    "yaml_code_block",
    "yaml_string",
    "xml_code_block",
    "code_block",
)
_GENERIC = ("dict_extractor", "list_extractor")


class ExtractionError(ValueError):
    """No extractor applied and ``return_original_on_failure`` is false."""


def code_blocks(text: str, language: str) -> list[str]:
    """Bodies of the fenced blocks ```` ```language ```` (or ```` ```{language} ````) of ``text``."""
    lang = re.escape(language)
    pattern = re.compile(
        rf"```(?:{lang}|\{{{lang}\}})[ \t]*\r?\n(.*?)```", re.DOTALL | re.IGNORECASE
    )
    return pattern.findall(text)


def _json_code_block(data: Any, cfg: Mapping[str, Any]) -> Any:
    if not isinstance(data, str) or not cfg.get("extract_json_blocks", True):
        return None
    blocks = code_blocks(data, "json")
    for index in range(len(blocks) - 1, -1, -1):  # the last parsable block wins
        try:
            value = json.loads(blocks[index])
        except ValueError:
            continue
        return (
            value,
            "json",
            {
                "extraction_method": "json_code_block",
                "block_count": len(blocks),
                "block_index": index,
            },
        )
    return None


def _json_string(data: Any, cfg: Mapping[str, Any]) -> Any:
    if not isinstance(data, str) or not cfg.get("parse_json_strings", True):
        return None
    text = data.strip()
    if len(text) > 2 and text[0] in "[{":
        try:
            return json.loads(text), "json", {"extraction_method": "json_string"}
        except ValueError:
            return None
    return None


def _yaml_code_block(data: Any, cfg: Mapping[str, Any]) -> Any:
    if not isinstance(data, str) or not cfg.get("extract_yaml_blocks", False):
        return None
    blocks = code_blocks(data, "yaml") or code_blocks(data, "yml")
    for block in reversed(blocks):
        try:
            value = yaml.safe_load(block)
        except yaml.YAMLError:
            continue
        return value, "yaml", {"extraction_method": "yaml_code_block", "block_count": len(blocks)}
    return None


def _yaml_string(data: Any, cfg: Mapping[str, Any]) -> Any:
    if not isinstance(data, str) or not cfg.get("parse_yaml_strings", False):
        return None
    try:
        value = yaml.safe_load(data)
    except yaml.YAMLError:
        return None
    return None if value is None else (value, "yaml", {"extraction_method": "yaml_string"})


def _xml_code_block(data: Any, cfg: Mapping[str, Any]) -> Any:
    if not isinstance(data, str) or not cfg.get("extract_xml_blocks", False):
        return None
    blocks = code_blocks(data, "xml")
    if not blocks:
        return None
    return blocks[-1], "xml", {"extraction_method": "xml_code_block", "block_count": len(blocks)}


def _code_block(data: Any, cfg: Mapping[str, Any]) -> Any:
    if not isinstance(data, str) or not cfg.get("extract_code_blocks", True):
        return None
    for lang in cfg.get("code_block_languages") or ():
        if lang == "json":  # the JSON extractors own these
            continue
        blocks = code_blocks(data, str(lang))
        if blocks:
            return (
                blocks[-1],
                str(lang),
                {"extraction_method": f"{lang}_code_block", "block_count": len(blocks)},
            )
    return None


def _interpreter_output(data: Any, cfg: Mapping[str, Any]) -> Any:
    """A code interpreter's list of ``{format, content}`` records -> the text of its outputs."""
    if not isinstance(data, list) or not cfg.get("format_interpreter_output", True):
        return None
    shaped = False
    lines: list[str] = []
    for record in data:
        if isinstance(record, Mapping):
            if "format" in record or "content" in record:
                shaped = True
                content = record.get("content")
                if record.get("format") == "output" and content and str(content).strip():
                    lines.append(str(content))
        elif isinstance(record, str) and record.strip():
            lines.append(record)
    if not (shaped and lines):
        return None
    return (
        "\n".join(lines),
        "interpreter_output",
        {
            "extraction_method": "interpreter_output",
            "output_count": len(lines),
            "line_count": len(lines),
        },
    )


def _dict(data: Any, cfg: Mapping[str, Any]) -> Any:
    if isinstance(data, dict):
        return data, "dict", {"extraction_method": "direct", "key_count": len(data)}
    return None


def _list(data: Any, cfg: Mapping[str, Any]) -> Any:
    if isinstance(data, list):
        return data, "list", {"extraction_method": "direct", "item_count": len(data)}
    return None


_BUILTIN: dict[str, Extractor] = {
    "interpreter_output": _interpreter_output,
    "json_code_block": _json_code_block,
    "json_string": _json_string,
    "yaml_code_block": _yaml_code_block,
    "yaml_string": _yaml_string,
    "xml_code_block": _xml_code_block,
    "code_block": _code_block,
    "dict_extractor": _dict,
    "list_extractor": _list,
}

DEFAULTS: dict[str, Any] = {
    "strategy": "auto",
    "extractor_priority": [],
    "extract_json_blocks": True,
    "extract_code_blocks": True,
    "extract_yaml_blocks": False,
    "extract_xml_blocks": False,
    "code_block_languages": ["json", "python", "output", "yaml", "xml"],
    "format_interpreter_output": True,
    "parse_json_strings": True,
    "parse_yaml_strings": False,
    "detect_nested_structures": True,
    "continue_on_error": True,
    "return_original_on_failure": True,
    "log_errors": True,
}


def _confidence(value: Any, fmt: str, metadata: Mapping[str, Any]) -> float:
    score = 0.5
    if isinstance(value, (dict, list)):
        score += 0.2
    if "code_block" in str(metadata.get("extraction_method", "")):
        score += 0.1
    if fmt in ("json", "yaml"):
        score += 0.1
    if not value or (isinstance(value, str) and not value.strip()):
        score -= 0.3
    return round(max(0.0, min(1.0, score)), 6)


@registry.register("result_extractor", "ResultExtractor")
class ResultExtractor(ConfiguredRoutine):
    """Extract a structured result from each payload; emit ``output(extracted_result, format,
    metadata, confidence, extraction_path)``.

    The input is the payload's ``data`` field, else its only field, else the whole payload.

    Config (the original Routilux keys, with its defaults):
        ``strategy``: ``auto`` / ``priority`` / ``first_match`` (first extractor that applies)
        or ``all`` (every extractor that applies; ``format: multi``).
        ``extractor_priority``: extractor names tried first, in this order.
        ``extract_json_blocks`` (true), ``extract_code_blocks`` (true), ``extract_yaml_blocks``
        (false), ``extract_xml_blocks`` (false), ``code_block_languages``,
        ``format_interpreter_output`` (true), ``parse_json_strings`` (true),
        ``parse_yaml_strings`` (false): which extractors apply.
        ``continue_on_error`` (true): an extractor that raises is skipped, else extraction stops.
        ``return_original_on_failure`` (true): when nothing applies, emit the input with
        ``confidence`` 0; when false, the activation fails with :class:`ExtractionError`.
        ``extractors``: ``{name: fn(data, config) -> (value, format, metadata) | None}``
        (Python only), as :meth:`register_extractor` adds them.

    >>> ResultExtractor().extract('Result:\\n```json\\n{"ok": true}\\n```')["extracted_result"]
    {'ok': True}
    """

    slots = ["input"]
    events = ["output"]
    default_config = DEFAULTS

    def setup(self) -> None:
        cfg = self.config
        if cfg.get("strategy") not in STRATEGIES:
            raise ValueError(
                f"ResultExtractor: unknown strategy {cfg.get('strategy')!r}; allowed: {', '.join(STRATEGIES)}"
            )
        priority = cfg.get("extractor_priority") or []
        if not isinstance(priority, (list, tuple)) or not all(isinstance(n, str) for n in priority):
            raise ValueError(
                f"ResultExtractor: config 'extractor_priority' must be a list of extractor names, got {priority!r}"
            )
        langs = cfg.get("code_block_languages") or []
        if not isinstance(langs, (list, tuple)):
            raise ValueError(
                f"ResultExtractor: config 'code_block_languages' must be a list, got {langs!r}"
            )
        custom = cfg.get("extractors") or {}
        if not isinstance(custom, Mapping) or not all(callable(f) for f in custom.values()):
            raise ValueError(
                "ResultExtractor: config 'extractors' must map names to Python callables "
                "fn(data, config) -> (value, format, metadata) or None"
            )
        self._custom: dict[str, Extractor] = dict(getattr(self, "_custom", {}))
        self._custom.update(custom)

    def register_extractor(self, name: str, extractor: Extractor) -> None:
        """Add an extractor ``fn(data, config) -> (value, format, metadata) | None``."""
        if not callable(extractor):
            raise TypeError(f"register_extractor({name!r}, ...) needs a callable")
        self._custom[name] = extractor

    def _order(self) -> list[tuple[str, Extractor]]:
        available = {**_BUILTIN, **self._custom}
        priority = list(self.config.get("extractor_priority") or [])
        if priority:
            rank = {n: i for i, n in enumerate(priority)}
            names = sorted(available, key=lambda n: rank.get(n, len(rank)))
        else:

            def default_rank(name: str) -> int:
                if name in EXTRACTOR_ORDER:
                    return EXTRACTOR_ORDER.index(name)
                return 50 + _GENERIC.index(name) if name in _GENERIC else 20

            names = sorted(available, key=default_rank)
        return [(n, available[n]) for n in names]

    def extract(self, data: Any) -> dict[str, Any]:
        """The payload emitted for ``data``."""
        cfg = self.config
        strategy = cfg["strategy"]
        found: list[dict[str, Any]] = []
        errors: list[dict[str, str]] = []
        for name, fn in self._order():
            try:
                result = fn(data, cfg)
            except Exception as exc:  # one extractor failing must not lose the others
                errors.append({"extractor": name, "error": f"Extractor '{name}' failed: {exc}"})
                if cfg.get("log_errors", True):
                    log.warning("ResultExtractor: extractor %r failed: %s", name, exc)
                if not cfg.get("continue_on_error", True):
                    break
                continue
            if result is None:
                continue
            value, fmt, metadata = result
            metadata = {**dict(metadata), "extractor": name, "strategy": strategy}
            out = {
                "extracted_result": value,
                "format": fmt,
                "metadata": metadata,
                "confidence": _confidence(value, fmt, metadata),
                "extraction_path": [name],
            }
            if strategy != "all":
                return out
            found.append(out)
        if found:
            return {
                "extracted_result": [f["extracted_result"] for f in found],
                "format": "multi",
                "metadata": {"extractions": found, "count": len(found), "errors": errors},
                "confidence": max(f["confidence"] for f in found),
                "extraction_path": [f["extraction_path"][0] for f in found],
            }
        if not cfg.get("return_original_on_failure", True):
            raise ExtractionError(
                f"ResultExtractor: no extractor applied to {type(data).__name__} input; errors: {errors}"
            )
        return {
            "extracted_result": data,
            "format": type(data).__name__.lower(),
            "metadata": {
                "extraction_method": "none",
                "errors": errors,
                "original_type": type(data).__name__,
            },
            "confidence": 0.0,
            "extraction_path": [],
        }

    def logic(self, input: list[Payload], ctx: ActivationContext) -> None:
        for payload in input:
            if "data" in payload:
                data = payload["data"]
            elif len(payload) == 1:
                data = next(iter(payload.values()))
            else:
                data = payload
            ctx.emit("output", **self.extract("" if data == {} else data))
