"""Engine tests use the shared harness of ``tests/conftest.py``; ``rt`` is its ``runtime``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from routilux_nb.core import Runtime


@pytest.fixture
def rt(runtime: Runtime) -> Iterator[Runtime]:
    yield runtime
