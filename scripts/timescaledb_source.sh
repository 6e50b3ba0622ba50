#!/usr/bin/env bash
# Where TimescaleDB's source comes from, in the one order that setup (scripts/setup.sh) and the image builds
# (btb/infra/docker/images.py) both follow: $BTB_TIMESCALEDB_SOURCE (a tarball or directory) → the newest
# ../shared/vendor/timescaledb-*.tar.gz beside this repo → the pinned release, downloaded and verified by sha256
# (scripts/fetch_timescaledb.sh, where the network reaches GitHub).
#
#   scripts/timescaledb_source.sh [--version V]   # V: only a vendored tarball of that version counts
#
# Prints "PATH<TAB>how it was found" on stdout, exit 0. With no source: one line on stderr saying what was looked
# for and why each failed, exit 2 (BTB_TIMESCALEDB_SOURCE names nothing), 3 (none found, download failed) or 4
# (the download's sha256 differs from the pin: refused and deleted).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
vendor=$(cd "$here/../.." && pwd)/shared/vendor
version=""
[ "${1:-}" = --version ] && version=${2:?--version needs a value}

if [ -n "${BTB_TIMESCALEDB_SOURCE:-}" ]; then
  if [ -e "$BTB_TIMESCALEDB_SOURCE" ]; then
    printf '%s\t%s\n' "$BTB_TIMESCALEDB_SOURCE" "from BTB_TIMESCALEDB_SOURCE"; exit 0
  fi
  echo "BTB_TIMESCALEDB_SOURCE=$BTB_TIMESCALEDB_SOURCE does not exist" >&2; exit 2
fi
src=$( (ls -d "$vendor"/timescaledb-${version}*.tar.gz 2>/dev/null || true) | sort -V | tail -1)
if [ -n "$src" ]; then
  printf '%s\t%s\n' "$src" "vendored beside the repo"; exit 0
fi
errf=$(mktemp); trap 'rm -f "$errf"' EXIT
if src=$("$here/fetch_timescaledb.sh" 2>"$errf"); then
  printf '%s\t%s\n' "$src" "the pinned release, sha256 verified"; exit 0
else
  rc=$?
fi
echo "no source found (BTB_TIMESCALEDB_SOURCE unset, looked for $vendor/timescaledb-${version}*.tar.gz;" \
     "$(tail -1 "$errf" | sed 's/^fetch_timescaledb: //'))" >&2
exit "$rc"
