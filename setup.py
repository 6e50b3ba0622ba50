"""btb's packages, plus the top-level queries/ folder installed as `btb.queries` (its texts are package data).
Everything else about the distribution is in pyproject.toml."""

from setuptools import find_packages, setup

setup(packages=find_packages(include=["btb", "btb.*"]) + ["btb.queries"], package_dir={"btb.queries": "queries"})
