"""The one registry: every scenario resolves to its class, its engine set is known without importing the
adapter (routing and submit-time checks use it), and every engine kind resolves to its local engine and
its container driver."""

from __future__ import annotations

import pytest

from btb.engines.registry import (ENGINES, SCENARIOS, container_driver, container_kinds, engines_of, local_engine,
                                  scenario_class)
from btb.infra.docker.protocol import ContainerEngine
from btb.infra.engines import LocalEngine


@pytest.mark.parametrize("sid", sorted(SCENARIOS))
def test_engine_set_matches_the_adapter_and_every_kind_is_registered(sid):
    cls = scenario_class(sid)
    assert cls.id == sid
    assert engines_of(sid) == tuple(cls.engines)
    assert set(engines_of(sid)) <= set(ENGINES), f"{sid} needs an engine kind the registry does not list"


@pytest.mark.parametrize("kind", sorted(ENGINES))
def test_every_engine_kind_resolves_to_its_local_engine_and_container_driver(kind):
    local = local_engine(kind)
    assert issubclass(local, LocalEngine) and local.kind == kind
    if kind in container_kinds():
        driver = container_driver(kind)
        assert issubclass(driver, ContainerEngine) and driver.kind == kind


def test_unknown_names_are_refused():
    with pytest.raises(KeyError, match="unknown scenario"):
        engines_of("Z9")
    with pytest.raises(KeyError, match="unknown scenario"):
        scenario_class("Z9")
    with pytest.raises(KeyError, match="no local engine of kind 'nosql'"):
        local_engine("nosql")
    with pytest.raises(KeyError, match="no container driver of kind 'nosql'"):
        container_driver("nosql")
