"""A node picks its provider from the settings: local processes by default, containers with BTB_PROVIDER=docker."""

from __future__ import annotations

import pytest

from btb.config import Settings
from btb.infra.docker.provider import DockerProvider
from btb.infra.local import LocalProvider
from btb.infra.factory import make_provider


def test_local_is_the_default_and_docker_is_chosen_by_setting(tmp_path):
    assert isinstance(make_provider(Settings(engines_dir=tmp_path), "n1"), LocalProvider)
    p = make_provider(Settings(engines_dir=tmp_path, provider="docker"), "n1")
    assert isinstance(p, DockerProvider) and p.node == "n1" and p.root == tmp_path / "n1" / "docker"


def test_an_unknown_provider_is_refused_by_name(tmp_path):
    with pytest.raises(ValueError, match="BTB_PROVIDER must be one of local, docker, not 'podman'"):
        make_provider(Settings(engines_dir=tmp_path, provider="podman"), "n1")
