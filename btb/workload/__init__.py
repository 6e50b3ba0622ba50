"""Workloads beside the isolated per-query protocol: query mixes, operator sessions and live ingest, run as
timed load steps (closed loop by clients, open loop by rate) with latencies kept in HdrHistograms."""
