#!/usr/bin/env bash
# Build the Debian base image every locally built btb image starts FROM, where no image registry
# answers (this machine kind, air-gapped servers): a debootstrap minbase bookworm root imported into
# the local Docker engine. Idempotent: an existing image is kept (BTB_REBUILD=1 rebuilds it).
#   $1 / BTB_BASE_IMAGE  tag (default btb/debian:bookworm)
#   BTB_DEBIAN_MIRROR    mirror (default: the one apt on this machine uses, else deb.debian.org)
set -euo pipefail
TAG=${1:-${BTB_BASE_IMAGE:-btb/debian:bookworm}}
if [ -z "${BTB_REBUILD:-}" ] && docker image inspect "$TAG" >/dev/null 2>&1; then
  echo "base image: $TAG present"; exit 0
fi
command -v debootstrap >/dev/null 2>&1 || { echo "base image: debootstrap missing (scripts/dockerd.sh installs it)" >&2; exit 1; }
MIRROR=${BTB_DEBIAN_MIRROR:-$(grep -rhoE '(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d 2>/dev/null \
          | head -1 | awk '{print $2}' || true)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
ROOT=$(mktemp -d /var/tmp/btb-base.XXXXXX)
trap 'rm -rf "$ROOT"' EXIT
echo "base image: debootstrap minbase bookworm from $MIRROR"
debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR" >"$ROOT.log" 2>&1 || { tail -20 "$ROOT.log" >&2; exit 1; }
rm -f "$ROOT.log"
# the security and updates suites too, so images get the same package versions as this machine
printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb %s-security bookworm-security main\n' \
  "$MIRROR" "$MIRROR" "${MIRROR%/debian*}/debian" > "$ROOT/etc/apt/sources.list"
rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/*
# mktemp made ROOT 0700 and tar records it as the image's "/": every non-root container user (postgres,
# redis, oxigraph) would then fail to exec anything ("stat /bin/sh: permission denied")
chmod 0755 "$ROOT"
tar -C "$ROOT" -c . | docker import --change 'CMD ["/bin/bash"]' \
  --message "btb base: debootstrap minbase bookworm ($MIRROR)" - "$TAG" >/dev/null
echo "base image: $TAG built ($(docker image inspect "$TAG" --format '{{.Size}}') bytes)"
