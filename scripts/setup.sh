#!/usr/bin/env bash
# Set up btb on a fresh Debian/Ubuntu machine, idempotently: system services btb runs as local
# processes (Redis, PostgreSQL server binaries), then a virtualenv in .venv with btb and its test deps.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null 2>&1 || need+=(postgresql)
# headless Chromium renders report.html in the report test (scripts/render_report.py)
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || need+=(chromium)
if ((${#need[@]})); then
  echo "setup: installing ${need[*]} (apt)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# TimescaleDB for PostgreSQL's series (P1/P2 hypertables): built from the vendored Apache-only source when
# the extension is missing (no package registry ships it here). Source: $BTB_TIMESCALEDB_SOURCE, else the
# newest ../shared/vendor/timescaledb-*.tar.gz beside this repo (CI: a fresh clone with shared/ beside it).
# BTB_TIMESCALEDB=skip leaves it out; a missing source or a failed build is reported and setup goes on
# (btb then runs native partitions, and `btb doctor` says so).
timescaledb_step() {
  local major ext src
  if [ "${BTB_TIMESCALEDB:-}" = skip ]; then echo "setup: TimescaleDB skipped (BTB_TIMESCALEDB=skip)"; return 0; fi
  major=${PG_MAJOR:-$( (ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null || true) \
                        | sed 's#/usr/lib/postgresql/\([0-9]*\)/.*#\1#' | sort -n | tail -1)}
  [ -n "$major" ] || { echo "setup: TimescaleDB skipped (no Debian PostgreSQL server found)"; return 0; }
  if [ -f "/usr/lib/postgresql/$major/lib/timescaledb.so" ] && [ -f "/usr/share/postgresql/$major/extension/timescaledb.control" ]; then
    ext=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "/usr/share/postgresql/$major/extension/timescaledb.control")
    echo "setup: TimescaleDB $ext installed for PostgreSQL $major"
    return 0
  fi
  src=${BTB_TIMESCALEDB_SOURCE:-$( (ls -d ../shared/vendor/timescaledb-*.tar.gz 2>/dev/null || true) | sort -V | tail -1)}
  if [ -z "$src" ] || [ ! -e "$src" ]; then
    echo "setup: TimescaleDB not installed and no source found (looked for ${BTB_TIMESCALEDB_SOURCE:-$(cd .. && pwd)/shared/vendor/timescaledb-*.tar.gz});" \
         "PostgreSQL series run on native partitions. Build it with: scripts/build_timescaledb.sh SOURCE"
    return 0
  fi
  echo "setup: TimescaleDB missing for PostgreSQL $major: building it from $src"
  PG_MAJOR=$major ./scripts/build_timescaledb.sh "$src" \
    || echo "setup: WARNING: TimescaleDB build failed (see above): PostgreSQL series run on native partitions"
}
timescaledb_step

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# (pip's notes about unreachable extra index locations are noise: filtered, real errors still show)
quiet() { "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }
quiet .venv/bin/python -m pip install -q --upgrade pip >/dev/null
# (PYTHONWARNINGS: setuptools' 10-line "editable installation" box on every run is noise too; errors still show)
PYTHONWARNINGS=ignore quiet .venv/bin/python -m pip install -q -e '.[test]'
echo "setup: ok ($(.venv/bin/btb --version 2>/dev/null || echo btb installed) in .venv)"
