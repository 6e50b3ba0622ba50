"""D1/D2: DuckDB scenarios (`scenario.py`), P1's model built from the dataset's Parquet (`schema.py`), P1's
query texts as DuckDB runs them (`texts.py`). The engine itself is `btb.infra.engines.duckdb`."""
