#!/usr/bin/env bash
# Download the pinned TimescaleDB release source and verify it, for machines that can reach GitHub.
#
#   scripts/fetch_timescaledb.sh [DEST_DIR]     # prints the verified tarball's path on stdout; exit 0
#
# The release is pinned here: version, URL and the sha256 of GitHub's tag archive (reproducible from the tag:
# `git archive --format=tar --prefix=timescaledb-2.22.1/ 2.22.1 | gzip -cn | sha256sum`). A download whose
# sha256 differs is refused and deleted; nothing unverified is ever built. BTB_TIMESCALEDB_URL names a mirror of
# the same file (its sha256 must still match the pin). DEST_DIR defaults to ~/.cache/btb; a verified tarball
# already there is reused without downloading.
# Exit codes: 0 ok, 3 download failed (no network, HTTP error), 4 sha256 mismatch.
set -euo pipefail

TIMESCALEDB_VERSION=2.22.1
TIMESCALEDB_SHA256=4593bb6188f09fa896fa60ff9f045fa1ddcbac84bff69a73c2ce561755526922
TIMESCALEDB_URL="https://github.com/timescale/timescaledb/archive/refs/tags/${TIMESCALEDB_VERSION}.tar.gz"

url=${BTB_TIMESCALEDB_URL:-$TIMESCALEDB_URL}
dest=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/btb}
out="$dest/timescaledb-${TIMESCALEDB_VERSION}.tar.gz"
mkdir -p "$dest"

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

if [ -f "$out" ] && [ "$(sha_of "$out")" = "$TIMESCALEDB_SHA256" ]; then
  echo "$out"; exit 0
fi
part=$(mktemp "$dest/.timescaledb-XXXXXX")
trap 'rm -f "$part"' EXIT
if ! err=$(curl -fsSL --connect-timeout 10 --max-time 300 --retry 2 -o "$part" "$url" 2>&1); then
  echo "fetch_timescaledb: could not download $url: ${err:-curl failed}" >&2
  exit 3
fi
got=$(sha_of "$part")
if [ "$got" != "$TIMESCALEDB_SHA256" ]; then
  echo "fetch_timescaledb: REFUSED $url: sha256 $got, expected $TIMESCALEDB_SHA256 (TimescaleDB $TIMESCALEDB_VERSION);" \
       "the file was deleted, nothing was built" >&2
  exit 4
fi
mv "$part" "$out"
echo "$out"
