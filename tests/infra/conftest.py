"""A LocalProvider on a throw-away engine root; every trial it holds is stopped at teardown."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from btb.infra.local import LocalProvider


@pytest.fixture
def provider():
    root = Path(tempfile.mkdtemp(prefix="btb-test-prov-"))  # not under tmp_path: pytest re-chmods it 0700
    root.chmod(0o755)
    p = LocalProvider(root, "provtest")
    try:
        yield p
    finally:
        for t in p.trials():
            p.stop(t)
        shutil.rmtree(root, ignore_errors=True)
