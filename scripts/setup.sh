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

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# (pip's notes about unreachable extra index locations are noise: filtered, real errors still show)
quiet() { "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }
quiet .venv/bin/python -m pip install -q --upgrade pip >/dev/null
quiet .venv/bin/python -m pip install -q -e '.[test]'
echo "setup: ok ($(.venv/bin/btb --version 2>/dev/null || echo btb installed) in .venv)"
