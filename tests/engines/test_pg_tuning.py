"""PostgreSQL memory settings sized to the trial's budget (issue 15 item 2): the rule, and a real server
started (and restarted from its kept data) under a budget reporting exactly what was asked for."""

from __future__ import annotations

import psycopg
import pytest
from btbtest import CAN_LIMIT

from btb.cgroups import CgroupSlot
from btb.infra.engines.base import EngineSpec
from btb.infra.engines.postgres.process import LocalPostgres
from btb.infra.engines.postgres.settings import FIXED_MEMORY_SETTINGS, PLANNER_SETTINGS, settings_for_budget

MiB = 1 << 20
GiB = 1 << 30


def test_settings_for_budget_scales_like_an_operator():
    assert settings_for_budget(256 * MiB) == {"shared_buffers": "64MB", "effective_cache_size": "192MB",
                                              "work_mem": "4MB", "maintenance_work_mem": "16MB"}
    assert settings_for_budget(GiB) == {"shared_buffers": "256MB", "effective_cache_size": "768MB",
                                        "work_mem": "16MB", "maintenance_work_mem": "64MB"}
    assert settings_for_budget(4 * GiB)["effective_cache_size"] == "3GB"  # as SHOW prints it
    # floors: a tiny budget still gets a server that starts; ceilings: a huge one stays sane
    assert settings_for_budget(16 * MiB) == {"shared_buffers": "8MB", "effective_cache_size": "12MB",
                                             "work_mem": "1MB", "maintenance_work_mem": "8MB"}
    huge = settings_for_budget(256 * GiB)
    assert huge["shared_buffers"] == "8GB" and huge["work_mem"] == "128MB" and huge["maintenance_work_mem"] == "1GB"
    # unlimited, or tuning "fixed" at any budget: the fixed settings btb always used
    assert settings_for_budget(None) == settings_for_budget(256 * MiB, "fixed") == FIXED_MEMORY_SETTINGS
    assert settings_for_budget(None, "fixed") == FIXED_MEMORY_SETTINGS
    with pytest.raises(ValueError):
        settings_for_budget(256 * MiB, "aggressive")
    with pytest.raises(ValueError):
        settings_for_budget(0)


def _show(dsn: str, names) -> dict[str, str]:
    with psycopg.connect(dsn) as c:
        return {n: c.execute(f"show {n}").fetchone()[0] for n in names}


@pytest.mark.integration
@pytest.mark.skipif(not CAN_LIMIT, reason="no writable cgroup memory controller: the budget is not applied here")
def test_a_trial_under_256_mib_runs_with_64mb_shared_buffers_and_records_it(provider):
    ep = provider.start("tuning-256", ("postgres",), 256 * MiB).endpoints["postgres"]
    try:
        shown = _show(ep.dsn, FIXED_MEMORY_SETTINGS)
        assert shown["shared_buffers"] == "64MB"
        assert shown == settings_for_budget(256 * MiB) == ep.extra["tuning"]["requested"]
        assert {k: ep.extra["settings"][k] for k in shown} == shown  # recorded = what the server runs with
        assert ep.extra["tuning"]["budget"] == 256 * MiB and ep.extra["tuning"]["tuning"] == "scaled"
        again = provider.current("tuning-256")["postgres"]  # reattached (another process would see the same)
        assert again.extra["settings"] == ep.extra["settings"] and again.extra["tuning"] == ep.extra["tuning"]
    finally:
        provider.stop("tuning-256")


@pytest.mark.integration
def test_unlimited_keeps_the_fixed_settings(provider):
    ep = provider.start("tuning-unlimited", ("postgres",), None).endpoints["postgres"]
    try:
        assert _show(ep.dsn, FIXED_MEMORY_SETTINGS) == FIXED_MEMORY_SETTINGS
        assert ep.extra["tuning"]["budget"] is None
        # the planner's costs are every budget's (SSD/memory, not spinning disks), and recorded
        assert _show(ep.dsn, PLANNER_SETTINGS) == PLANNER_SETTINGS == {"random_page_cost": "1.1"}
        assert ep.extra["settings"]["random_page_cost"] == "1.1"
    finally:
        provider.stop("tuning-unlimited")


@pytest.mark.integration
def test_restart_from_kept_data_under_another_budget_resizes(server_dir, free_port):
    """What load-once/measure-many needs: the same data dir started again under another budget (and tuning)
    comes up sized for it, data intact."""
    spec = EngineSpec(kind="postgres", work=str(server_dir() / "pg"), port=free_port())
    eng = LocalPostgres(spec)
    slot = CgroupSlot("tuning-none", "none")  # budget passed explicitly: works where cgroups cannot limit
    try:
        eng.launch(slot, budget=None)
        with psycopg.connect(eng.dsn, autocommit=True) as c:
            c.execute("create table kept as select g from generate_series(1, 1000) g")
        assert eng.endpoint(slot).extra["settings"]["shared_buffers"] == "128MB"
        for budget, tuning, want in ((512 * MiB, None, settings_for_budget(512 * MiB)),
                                     (GiB, "scaled", settings_for_budget(GiB)),
                                     (96 * MiB, "fixed", FIXED_MEMORY_SETTINGS)):
            eng.stop()
            eng.launch(slot, budget=budget, tuning=tuning)
            ep = eng.endpoint(slot)
            assert _show(eng.dsn, want) == want == {k: ep.extra["settings"][k] for k in want}, (budget, tuning)
            assert ep.extra["tuning"]["budget"] == budget
            with psycopg.connect(eng.dsn) as c:
                assert c.execute("select count(*) from kept").fetchone()[0] == 1000
    finally:
        eng.kill()
        eng.remove()
