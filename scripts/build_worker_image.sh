#!/usr/bin/env bash
# Build the images compose.workers.yml runs where they cannot be pulled: btb/worker:<btb version>
# (workers/Dockerfile) and btb/redis:bookworm (workers/redis.Dockerfile), both on the Debian base image.
# btb and its dependencies go in as wheels built here by the host's pip (Python 3.11, as in bookworm):
# the host reaches the package index with its own certificates; a build container may not.
# Cached: an image whose label org.btb.source-hash matches the hash of its sources (Dockerfile, btb/,
# campaigns/, pyproject.toml, the wheel script, the base image id; not README.md, which only changes the
# wheel's description) is kept; BTB_REBUILD=1 rebuilds.
# Callable on its own (CI, tests) and from `btb images build`. Prints one line per image.
#   BTB_BASE_IMAGE  base (default btb/debian:bookworm, built by scripts/build_base_image.sh when missing)
#   BTB_NO_CACHE=1  build every layer again (docker build --no-cache): a fresh machine's build time
#   $@              which images: worker, redis (default both)
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${BTB_BASE_IMAGE:-btb/debian:bookworm}
VERSION=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' btb/__init__.py)
[ -n "$VERSION" ] || { echo "worker image: no __version__ in btb/__init__.py" >&2; exit 1; }
WHICH=("$@"); ((${#WHICH[@]})) || WHICH=(worker redis)

if ! docker image inspect "$BASE" >/dev/null 2>&1; then
  if [ "$BASE" = btb/debian:bookworm ]; then scripts/build_base_image.sh "$BASE"
  else echo "worker image: base image $BASE is missing (docker pull it, or unset BTB_BASE_IMAGE)" >&2; exit 1; fi
fi
BASE_ID=$(docker image inspect -f '{{.Id}}' "$BASE")

source_hash() {  # sha256 over the base image id and the content of every source file, in a stable order
  { echo "$BASE_ID"
    find "$@" -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-16
}

wheels() {  # build/worker-wheels/{deps,btb}: what workers/Dockerfile installs, with no index
  local py=${BTB_PYTHON:-}
  [ -n "$py" ] || { [ -x .venv/bin/python ] && py=.venv/bin/python || py=python3; }
  "$py" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || {
    echo "worker image: wheels must be built by Python 3.11 (Debian bookworm's); $py is $("$py" -V 2>&1) (set BTB_PYTHON)" >&2
    exit 1; }
  "$py" scripts/worker_wheels.py build/worker-wheels
}

build() {  # tag dockerfile sources...
  local tag=$1 file=$2; shift 2
  local hash have t0 old
  hash=$(source_hash "$file" "$@")
  old=$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)
  have=$(docker image inspect -f '{{index .Config.Labels "org.btb.source-hash"}}' "$tag" 2>/dev/null || true)
  if [ -z "${BTB_REBUILD:-}" ] && [ "$have" = "$hash" ]; then
    echo "image $tag: up to date (sources $hash)"; return
  fi
  t0=$(date +%s)
  [ "$file" != workers/Dockerfile ] || wheels
  local log; log=$(mktemp)
  # one --label: each is one more build step, a full copy of the image on vfs storage
  if ! docker build ${BTB_NO_CACHE:+--no-cache} --force-rm --network host --build-arg "BASE=$BASE" --label "org.btb.source-hash=$hash" \
       -f "$file" -t "$tag" . >"$log" 2>&1; then
    tail -30 "$log" >&2; rm -f "$log"
    echo "image $tag: build failed" >&2; exit 1
  fi
  rm -f "$log"
  # the image this one replaces: vfs keeps a full copy per layer (GBs), so it goes unless still used
  if [ -n "$old" ] && [ "$old" != "$(docker image inspect -f '{{.Id}}' "$tag")" ]; then
    docker rmi "$old" >/dev/null 2>&1 || true
  fi
  echo "image $tag: built in $(( $(date +%s) - t0 )) s (sources $hash)"
}

for w in "${WHICH[@]}"; do
  case $w in
    worker) build "btb/worker:$VERSION" workers/Dockerfile btb campaigns pyproject.toml .dockerignore \
              scripts/worker_wheels.py ;;
    redis)  build btb/redis:bookworm workers/redis.Dockerfile ;;
    *) echo "worker image: unknown image '$w' (worker, redis)" >&2; exit 2 ;;
  esac
done
