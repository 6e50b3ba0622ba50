"""Renamed: `PostgresScenario` lives in `btb.engines.postgres.scenario`. Re-exported here until
relational.py/document.py import it from there."""

from btb.engines.postgres.scenario import RECORDED_SETTINGS, PostgresScenario, bind  # noqa: F401
