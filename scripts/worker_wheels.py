"""Wheels of btb and its dependencies for workers/Dockerfile, built by the host's pip (which reaches the
package index with the host's certificates and proxies) for the image's Python, Debian bookworm's 3.11.2.

pip resolves environment markers for the interpreter it runs on, so a requirement true only on the
image's Python (redis needs async-timeout below 3.11.3) would be missing: every wheel's requirements
are evaluated again for the image's Python and the missing ones are added until the set is closed.
Usage: python scripts/worker_wheels.py OUT_DIR [IMAGE_PYTHON_VERSION]
  → OUT/deps/*.whl (dependencies), OUT/btb/ (btb's wheel and a copy of campaigns/: one COPY in the image)
"""

from __future__ import annotations

import email.parser
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

REPO = Path(__file__).resolve().parents[1]


def _pip_wheel(out: Path, *args: str) -> None:
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check", "-w", str(out),
                        *args], capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"worker wheels: pip wheel {' '.join(args)} failed:\n{r.stderr[-2000:]}")


def _requires(wheel: Path) -> list[Requirement]:
    with zipfile.ZipFile(wheel) as z:
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        msg = email.parser.Parser().parsestr(z.read(meta).decode())
    return [Requirement(x) for x in msg.get_all("Requires-Dist") or []]


def missing_for(deps: Path, image_python: str) -> list[str]:
    """Requirements true on the image's Python, false here, and not among the wheels."""
    here = default_environment()
    there = here | {"python_full_version": image_python, "python_version": ".".join(image_python.split(".")[:2])}
    have = {canonicalize_name(parse_wheel_filename(w.name)[0]) for w in deps.glob("*.whl")}
    out = set()
    for w in deps.glob("*.whl"):
        for r in _requires(w):
            if r.marker and r.marker.evaluate(there | {"extra": ""}) and not r.marker.evaluate(here | {"extra": ""}) \
                    and canonicalize_name(r.name) not in have:
                out.add(str(Requirement(f"{r.name}{r.specifier}")))
    return sorted(out)


def main() -> None:
    out = Path(sys.argv[1])
    image_python = sys.argv[2] if len(sys.argv) > 2 else "3.11.2"
    shutil.rmtree(out, ignore_errors=True)
    deps, own = out / "deps", out / "btb"
    own.mkdir(parents=True)
    _pip_wheel(deps, str(REPO))
    for w in deps.glob("btb-*.whl"):
        w.rename(own / w.name)
    shutil.copytree(REPO / "campaigns", own / "campaigns")
    for _ in range(5):
        extra = missing_for(deps, image_python)
        if not extra:
            return
        print(f"worker wheels: added for Python {image_python}: {', '.join(extra)}")
        _pip_wheel(deps, *extra)
    sys.exit("worker wheels: the set of wheels did not close after 5 rounds")


if __name__ == "__main__":
    main()
