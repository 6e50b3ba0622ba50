"""`btb doctor` says which series backend PostgreSQL will run and why (issue 15 item 7)."""

from __future__ import annotations

from btb.doctor import check_engines
from btb.infra.engines.postgres import timescale
from btb.infra.engines.postgres.binaries import find_pg_bin
from btb.infra.engines.postgres.process import LocalPostgres

INSTALLED = timescale.timescale_installed(find_pg_bin())[0]


def _series(checks):
    (c,) = [c for c in checks if c.name == "postgres series backend"]
    return c


def test_doctor_names_the_series_backend_and_why(monkeypatch):
    monkeypatch.setenv("BTB_PG_TIMESCALE", "auto")
    c = _series(check_engines())
    if INSTALLED:
        assert c.status == "ok" and "timescaledb hypertables" in c.detail and INSTALLED in c.detail
        assert "preloaded" in c.detail
    else:
        assert c.status == "degraded" and "not installed" in c.detail and "build_timescaledb.sh" in c.detail
    monkeypatch.setenv("BTB_PG_TIMESCALE", "off")
    c = _series(check_engines())
    assert c.status == "degraded" and "native partitions" in c.detail and "timescale: off" in c.detail
    assert "not TimescaleDB hypertables" in c.impact


def test_timescale_on_without_the_extension_makes_postgres_unavailable(monkeypatch):
    monkeypatch.setattr(timescale, "timescale_installed", lambda b: (None, "TimescaleDB is not installed (test)"))
    monkeypatch.setenv("BTB_PG_TIMESCALE", "on")
    ok, why = LocalPostgres.available({})
    assert not ok and "timescale: on" in why and "build_timescaledb.sh" in why
    checks = check_engines()
    assert [c.status for c in checks if c.name == "engine postgres"] == ["missing"]
    monkeypatch.setenv("BTB_PG_TIMESCALE", "auto")
    assert timescale.series_backend_plan(find_pg_bin(), {}) == (
        False, "TimescaleDB is not installed (test): native daily range partitions "
               "(`make setup` builds it from $BTB_TIMESCALEDB_SOURCE, ../shared/vendor/timescaledb-*.tar.gz or the "
               "pinned release it downloads and verifies (scripts/fetch_timescaledb.sh); "
               "scripts/build_timescaledb.sh SOURCE builds it by hand)")
