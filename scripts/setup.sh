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

# TimescaleDB for PostgreSQL's series (P1/P2 hypertables), built from source when the extension is missing (no
# package registry ships it here). The source, first found (scripts/timescaledb_source.sh, the order image builds
# follow too): $BTB_TIMESCALEDB_SOURCE (a tarball or directory) → the newest ../shared/vendor/timescaledb-*.tar.gz
# beside this repo → the pinned release, downloaded and verified by sha256 (scripts/fetch_timescaledb.sh, where
# the network reaches GitHub) → none: PostgreSQL series run on native partitions, said in one line with how to
# get TimescaleDB. BTB_TIMESCALEDB=skip leaves it out; a failed
# build is reported and setup goes on (`btb doctor` says which backend runs, and why).
timescaledb_step() {
  local major ext src got
  if [ "${BTB_TIMESCALEDB:-}" = skip ]; then echo "setup: TimescaleDB skipped (BTB_TIMESCALEDB=skip)"; return 0; fi
  major=${PG_MAJOR:-$( (ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null || true) \
                        | sed 's#/usr/lib/postgresql/\([0-9]*\)/.*#\1#' | sort -n | tail -1)}
  [ -n "$major" ] || { echo "setup: TimescaleDB skipped (no Debian PostgreSQL server found)"; return 0; }
  if [ -f "/usr/lib/postgresql/$major/lib/timescaledb.so" ] && [ -f "/usr/share/postgresql/$major/extension/timescaledb.control" ]; then
    ext=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "/usr/share/postgresql/$major/extension/timescaledb.control")
    echo "setup: TimescaleDB $ext installed for PostgreSQL $major"
    return 0
  fi
  local errf found; errf=$(mktemp)
  if ! found=$(./scripts/timescaledb_source.sh 2>"$errf"); then
    echo "setup: TimescaleDB not installed and $(tail -1 "$errf")." \
         "PostgreSQL series run on native partitions. To get TimescaleDB: BTB_TIMESCALEDB_SOURCE=TARBALL make setup," \
         "or scripts/build_timescaledb.sh SOURCE"
    rm -f "$errf"
    return 0
  fi
  rm -f "$errf"
  src=${found%%$'\t'*}; got=${found#*$'\t'}
  echo "setup: TimescaleDB missing for PostgreSQL $major: building it from $src ($got)"
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
