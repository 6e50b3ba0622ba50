"""Flower as btb runs it: Flower's `/metrics` answers without authentication even when basic auth is
on (flower 2.x); btb requires the same credentials there as everywhere else, then runs Flower's CLI."""

from __future__ import annotations

import sys


def _protect_metrics() -> None:
    from flower.views import monitor
    from tornado import web

    get = monitor.Metrics.get
    monitor.Metrics.get = web.authenticated(get)


def main() -> None:
    _protect_metrics()
    from celery.__main__ import main as celery_main

    sys.argv = ["celery", *sys.argv[1:]]
    celery_main()


if __name__ == "__main__":
    main()
