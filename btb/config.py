"""One configuration source for Python and compose: environment variables `BTB_*`, read from the
package's defaults (`btb/conf/btb.env`), then the server's env file `config/btb.env` in the working
directory or `$BTB_CONFIG` (the same file compose.workers.yml reads), and from the state dir's
generated `secrets.env`. Environment variables win over both files.

Secrets are generated once per machine on first use (0600 file) so nothing ships a default password,
and they never appear in logs or result records (`Settings.public()` drops them).
"""

from __future__ import annotations

import os
import secrets
import socket
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_CONFIG = Path(__file__).resolve().parent / "conf" / "btb.env"
SERVER_CONFIG = Path("config") / "btb.env"  # relative to the working directory, as compose reads it


class ConfigError(RuntimeError):
    pass


def config_files() -> tuple[str, ...]:
    """Env files in the order they apply (later wins): package defaults, then the server's file.
    `$BTB_CONFIG` names the server's file and must exist; the default `config/btb.env` may not."""
    named = os.environ.get("BTB_CONFIG")
    if named and not Path(named).is_file():
        raise ConfigError(f"BTB_CONFIG={named}: no such file (copy config/btb.env.example there)")
    return (str(REPO_CONFIG), named or str(SERVER_CONFIG))


PRIVATE_UMASK = 0o077  # every process btb starts: files 0600, dirs 0700 unless granted on purpose


def private_dir(path: Path) -> Path:
    """A directory only btb's user can enter (made, or narrowed, to 0700)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    return path


def write_private(path: Path, text: str) -> None:
    """Replace a file atomically with one that is 0600 from its creation on (secrets, configs holding them):
    never written first and narrowed after, never half-written."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "btb"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BTB_", env_file=(str(REPO_CONFIG),), extra="ignore")

    def __init__(self, **values) -> None:
        values.setdefault("_env_file", config_files())  # read at each instantiation: BTB_CONFIG may change
        super().__init__(**values)

    state_dir: Path = Field(default_factory=default_state_dir)
    node: str = Field(default_factory=lambda: socket.gethostname().split(".")[0])
    bind: str = "127.0.0.1"
    redis_host: str = "127.0.0.1"
    redis_port: int = 6390
    redis_password: str = ""
    broker_url: str = ""  # full redis:// URL; overrides host/port/password (second nodes)
    flower_port: int = 5555
    flower_user: str = "btb"
    flower_password: str = ""
    pg_port: int = 5440
    pg_bin: str = ""  # directory of initdb/pg_ctl/postgres; auto-detected when empty
    engines_dir: Path | None = None  # engine data dirs; must be reachable by the engines' OS user
    results_dir: Path = Path("results")
    visibility_timeout_s: int = 6 * 3600  # Redis redelivers an unacked message after this (tokens only)
    lease_ttl_s: float = 30.0  # a trial whose node stops renewing its lease this long is re-run elsewhere
    monitor_hz: float = 10.0
    # how this node runs engines: "local" (processes in cgroups, the default) or "docker" (containers; images
    # from `btb images build` or the pinned official ones; see btb/infra/docker/)
    provider: str = "local"
    docker_ready_timeout_s: float = 120.0  # a container that does not accept clients by then failed to start
    docker_image_postgres: str = ""  # image overrides per engine kind (default: local build, else official)
    docker_image_falkordb: str = ""
    docker_image_oxigraph: str = ""
    docker_image_memgraph: str = ""

    @property
    def datasets_dir(self) -> Path:
        return self.state_dir / "datasets"

    @property
    def engine_root(self) -> Path:
        """Where local engines keep their data. As root, engines run as another OS user (PostgreSQL
        refuses root) who cannot enter /root or a 0700 state dir, so the default moves to /var/lib/btb."""
        if self.engines_dir:
            return self.engines_dir
        return Path("/var/lib/btb/engines") if os.geteuid() == 0 else self.state_dir / "engines"

    @property
    def secrets_file(self) -> Path:
        return self.state_dir / "secrets.env"

    @property
    def redis_url(self) -> str:
        if self.broker_url:
            return self.broker_url
        return f"redis://:{quote(self.redis_password, safe='')}@{self.redis_host}:{self.redis_port}/0"

    def public(self) -> dict:
        """Settings safe to print or store in results."""
        d = self.model_dump(mode="json")
        for k in ("redis_password", "flower_password", "broker_url"):
            d.pop(k, None)
        return d


def _read_env_file(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, _, v = line.partition("=")
                out[k.strip()] = v.strip()
    return out


def ensure_secrets(settings: Settings) -> Settings:
    """Fill empty passwords from the state dir's secrets file, generating them the first time."""
    if settings.broker_url or (settings.redis_password and settings.flower_password):
        return settings
    path = settings.secrets_file
    stored = _read_env_file(path)
    changed = False
    for key in ("BTB_REDIS_PASSWORD", "BTB_FLOWER_PASSWORD"):
        if not stored.get(key):
            stored[key] = secrets.token_urlsafe(18)
            changed = True
    if changed:
        if path.parent == settings.state_dir:
            private_dir(path.parent)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
        write_private(path, "".join(f"{k}={v}\n" for k, v in sorted(stored.items())))
    update = {}
    if not settings.redis_password:
        update["redis_password"] = stored["BTB_REDIS_PASSWORD"]
    if not settings.flower_password:
        update["flower_password"] = stored["BTB_FLOWER_PASSWORD"]
    return settings.model_copy(update=update)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return ensure_secrets(Settings())
