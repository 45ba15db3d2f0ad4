"""The one rule for identifiers (flows, routines, workers, jobs, breakpoints).

An id is 1 to 128 characters from ``A-Z a-z 0-9 _ . -``, and starts with a letter, a digit or
``_``: every id can be put in a URL path segment as it is (no ``/``, no ``..``, no spaces).
Every entrance (the Python API, the DSL, HTTP) checks it with :func:`check_id`.

>>> check_id("words-worker", "worker id")
'words-worker'
>>> check_id("a/b", "flow id")
Traceback (most recent call last):
...
routilux_nb.core.ids.InvalidIdError: flow id 'a/b' is not valid: use 1-128 characters from A-Z a-z 0-9 _ . - starting with a letter, digit or _
"""

from __future__ import annotations

import re

__all__ = ["ID_MAX_LENGTH", "ID_PATTERN", "InvalidIdError", "check_id", "is_valid_id"]

ID_MAX_LENGTH = 128
ID_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}")
_RULE = "use 1-128 characters from A-Z a-z 0-9 _ . - starting with a letter, digit or _"


class InvalidIdError(ValueError):
    """An identifier breaks the id rule (see :mod:`routilux_nb.core.ids`)."""


def is_valid_id(value: object) -> bool:
    """True when ``value`` is a string that follows the id rule."""
    return isinstance(value, str) and ID_PATTERN.fullmatch(value) is not None


def check_id(value: object, kind: str = "id") -> str:
    """Return ``value`` if it follows the id rule, else raise :class:`InvalidIdError` naming ``kind``."""
    if isinstance(value, str) and ID_PATTERN.fullmatch(value) is not None:
        return value
    shown = (
        repr(value) if not isinstance(value, str) or len(value) <= 60 else repr(value[:57] + "...")
    )
    raise InvalidIdError(f"{kind} {shown} is not valid: {_RULE}")
