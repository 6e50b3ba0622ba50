"""Docker SDK source: `container.stats(stream=False, one_shot=True)` (one_shot skips the 1 s wait for a
CPU delta). The SDK is imported lazily: without it or without a reachable engine the source reports
itself unavailable with the reason, and the monitor moves on to psutil.
"""

from __future__ import annotations

from typing import Any

from btb.monitor.sources.base import Sample, Source, SourceUnavailable


def docker_client(timeout: int = 3) -> Any:
    """A pinged docker client, or SourceUnavailable saying why not."""
    try:
        import docker  # noqa: PLC0415 - optional dependency
    except ImportError as e:
        raise SourceUnavailable(f"docker SDK not installed ({e})") from None
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
        return client
    except Exception as e:  # noqa: BLE001 - DockerException, connection errors, permission errors
        raise SourceUnavailable(f"Docker engine not reachable: {type(e).__name__}: {e}"[:300]) from None


class DockerStatsSource(Source):
    name = "docker"

    def __init__(self, container: str, client: Any = None):
        self.client = client or docker_client()
        try:
            self.container = self.client.containers.get(container)
        except Exception as e:  # noqa: BLE001
            raise SourceUnavailable(f"container {container!r}: {e}"[:300]) from None
        self.notes = {"peak": "docker stats has no resettable peak on v2: max of samples"}

    def read(self, t: float) -> Sample:
        st = self.container.stats(stream=False, one_shot=True)
        return parse_stats(st, t)

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:  # noqa: BLE001
            pass


def parse_stats(st: dict, t: float) -> Sample:
    """Map a Docker stats document (v1 or v2 host) onto a Sample."""
    mem = st.get("memory_stats") or {}
    ms = mem.get("stats") or {}
    cpu = ((st.get("cpu_stats") or {}).get("cpu_usage") or {}).get("total_usage")
    r = w = 0
    have_io = False
    for e in (st.get("blkio_stats") or {}).get("io_service_bytes_recursive") or []:
        have_io = True
        op = str(e.get("op", "")).lower()
        if op == "read":
            r += int(e.get("value", 0))
        elif op == "write":
            w += int(e.get("value", 0))
    peak = mem.get("max_usage")  # v1 hosts only, cumulative
    return Sample(
        t=t, source="docker", mem_bytes=mem.get("usage"), mem_peak_bytes=peak,
        peak_scope="cumulative" if peak is not None else "none",
        anon_bytes=ms.get("anon", ms.get("total_rss", ms.get("rss"))),
        file_bytes=ms.get("file", ms.get("total_cache", ms.get("cache"))),
        shmem_bytes=ms.get("shmem", ms.get("total_shmem")),
        cpu_s=cpu / 1e9 if cpu is not None else None,
        io_read_bytes=r if have_io else None, io_write_bytes=w if have_io else None,
        mem_limit_bytes=mem.get("limit"),
    )
