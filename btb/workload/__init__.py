"""Workloads beside the isolated per-query protocol: what a building's users and devices send at once."""
