"""Shared tiny datasets: generated once per test session (each takes well under a second)."""

from __future__ import annotations

from pathlib import Path

import pytest

from btb.dataset.generator import generate


@pytest.fixture(scope="session")
def tiny2d(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ds") / "tiny-2d-s7"
    generate("tiny-2d", 7, out)
    return out
