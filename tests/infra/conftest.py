"""A LocalProvider on a throw-away engine root; every trial it holds is stopped at teardown."""

from __future__ import annotations

import pytest
from btbtest import scratch_provider

from btb.infra.local import LocalProvider


@pytest.fixture
def provider():
    yield from scratch_provider(lambda root: LocalProvider(root, "provtest"), "btb-test-prov-")
