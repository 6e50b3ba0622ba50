#!/usr/bin/env bash
# Build and install the Apache-2.0 part of TimescaleDB for the installed PostgreSQL (Debian's 15 by default).
#
#   scripts/build_timescaledb.sh SOURCE        # SOURCE: a source tarball (.tar.gz), an unpacked source dir,
#                                              # or an https:// URL of a release tarball (machines with internet)
#   TIMESCALEDB_SOURCE=... scripts/build_timescaledb.sh
#   PG_CONFIG=/usr/lib/postgresql/16/bin/pg_config scripts/build_timescaledb.sh SOURCE
#   scripts/build_timescaledb.sh --force SOURCE  # rebuild even if this version is installed already
#
# What it does, idempotently:
#  1. installs the build dependencies from Debian when missing:
#       postgresql-server-dev-<major> cmake gcc make libssl-dev libkrb5-dev
#     NOTE: postgresql-server-dev-<major> pins the server packages to its own minor version, so apt
#     upgrades postgresql-<major> to the newest minor (e.g. 15.18 -> 15.20). Running servers keep running;
#     a server started afterwards is the new minor (same on-disk format: no dump/restore).
#  2. `./bootstrap -DAPACHE_ONLY=1 ...` (only Apache-licensed code: hypertables, chunks, time_bucket; no
#     compression/columnstore or continuous aggregates), `make -j$(nproc)`, `make install` into PostgreSQL's
#     lib and extension dirs (machine-wide: every cluster of that PostgreSQL can then CREATE EXTENSION).
#  3. skips everything when the same version is already installed (unless --force).
#
# After install, a cluster must preload it (`shared_preload_libraries = 'timescaledb'`): btb's PostgreSQL
# engine does so by itself when the extension is installed (btb/infra/engines/postgres/timescale.py).
set -euo pipefail

force=0
if [ "${1:-}" = "--force" ]; then force=1; shift; fi
SRC=${1:-${TIMESCALEDB_SOURCE:-}}
if [ -z "$SRC" ]; then
  echo "usage: $0 [--force] SOURCE_TARBALL_OR_DIR_OR_URL  (or TIMESCALEDB_SOURCE=...)" >&2
  exit 2
fi

case "$SRC" in
  http://*|https://*) ;;
  *) [ -e "$SRC" ] || { echo "build_timescaledb: source not found: $SRC" >&2; exit 1; } ;;
esac
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
PG_MAJOR=${PG_MAJOR:-15}
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/$PG_MAJOR/bin/pg_config}

# --- 1. build dependencies ------------------------------------------------------------------------------
need=()
[ -x "$PG_CONFIG" ] && [ -f "$("$PG_CONFIG" --includedir-server 2>/dev/null)/postgres.h" ] \
  || need+=("postgresql-server-dev-$PG_MAJOR")
for tool in cmake gcc make; do command -v "$tool" >/dev/null 2>&1 || need+=("$tool"); done
[ -f /usr/include/openssl/ssl.h ] || need+=(libssl-dev)
[ -f /usr/include/krb5.h ] || [ -f /usr/include/krb5/krb5.h ] || need+=(libkrb5-dev)
if ((${#need[@]})); then
  echo "build_timescaledb: installing build dependencies: ${need[*]} (apt; note: this upgrades" \
       "postgresql-$PG_MAJOR to the dev package's minor version)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
[ -x "$PG_CONFIG" ] || { echo "build_timescaledb: $PG_CONFIG not found" >&2; exit 1; }

# --- 2. the source ---------------------------------------------------------------------------------------
work=$(mktemp -d /tmp/btb-timescaledb-build-XXXXXX)
trap 'rm -rf "$work"' EXIT
case "$SRC" in
  http://*|https://*)
    echo "build_timescaledb: fetching $SRC"
    curl -fsSL "$SRC" -o "$work/src.tar.gz"
    tar -C "$work" -xzf "$work/src.tar.gz" ;;
  *)
    if [ -d "$SRC" ]; then
      cp -a "$SRC" "$work/"
    elif [ -f "$SRC" ]; then
      tar -C "$work" -xzf "$SRC"
    else
      echo "build_timescaledb: source not found: $SRC" >&2; exit 1
    fi ;;
esac
boot=$(find "$work" -maxdepth 2 -name bootstrap -type f | sort | head -1)
srcdir=$(dirname "${boot:-$work/none/x}")
[ -f "$srcdir/bootstrap" ] || { echo "build_timescaledb: no bootstrap script in $SRC" >&2; exit 1; }
version=$(sed -n 's/^version *= *//p' "$srcdir/version.config" | head -1)

sharedir=$("$PG_CONFIG" --sharedir)
pkglibdir=$("$PG_CONFIG" --pkglibdir)
if [ "$force" = 0 ] && [ -f "$sharedir/extension/timescaledb--$version.sql" ] \
     && [ -f "$pkglibdir/timescaledb-$version.so" ] && [ -f "$pkglibdir/timescaledb.so" ]; then
  echo "build_timescaledb: TimescaleDB $version already installed for $("$PG_CONFIG" --version) ($pkglibdir)"
  exit 0
fi

# --- 3. build and install ---------------------------------------------------------------------------------
echo "build_timescaledb: building TimescaleDB $version (Apache-only) for $("$PG_CONFIG" --version)"
t0=$(date +%s)
(
  cd "$srcdir"
  ./bootstrap -DAPACHE_ONLY=1 -DREGRESS_CHECKS=OFF -DTAP_CHECKS=OFF -DWARNINGS_AS_ERRORS=OFF -DLINTER=OFF \
    -DPG_CONFIG="$PG_CONFIG" >"$work/bootstrap.log" 2>&1 || { tail -40 "$work/bootstrap.log" >&2; exit 1; }
  make -C build -j"$(nproc)" >"$work/make.log" 2>&1 || { tail -40 "$work/make.log" >&2; exit 1; }
  $SUDO make -C build install >"$work/install.log" 2>&1 || { tail -40 "$work/install.log" >&2; exit 1; }
)
echo "build_timescaledb: installed TimescaleDB $version into $pkglibdir in $(( $(date +%s) - t0 )) s" \
     "(clusters must preload it: shared_preload_libraries = 'timescaledb')"
