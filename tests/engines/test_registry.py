"""The scenario registry: every scenario resolves to its class, and its engine set is known without
importing the adapter (routing and submit-time checks use it)."""

from __future__ import annotations

import pytest

from btb.engines.registry import ENGINE_SETS, SCENARIOS, engines_of, scenario_class
from btb.infra.engines import ENGINES


@pytest.mark.parametrize("sid", sorted(SCENARIOS))
def test_engine_set_matches_the_adapter_and_every_kind_has_a_local_engine_or_is_planned(sid):
    cls = scenario_class(sid)
    assert cls.id == sid
    assert engines_of(sid) == tuple(cls.engines)
    assert set(engines_of(sid)) <= set(ENGINES), f"{sid} needs an engine kind no provider module runs"


def test_registries_agree_and_unknown_names_are_refused():
    assert set(ENGINE_SETS) == set(SCENARIOS)
    with pytest.raises(KeyError, match="unknown scenario"):
        engines_of("Z9")
