#!/usr/bin/env bash
# Make sure a Docker engine answers on this machine, for the Docker provider and the compose test.
#
# Servers already run dockerd (systemd): then this only checks it answers. On a machine without one
# (CI, a sandbox without systemd) it installs Debian's docker.io when missing and starts dockerd in the
# background with what works without a bridge or iptables: vfs storage, host networking only
# (containers use --network host). Idempotent; prints the socket it left answering.
#   BTB_DOCKER_ROOT  data dir of a dockerd started here (default /var/lib/docker)
set -euo pipefail

SOCK=${DOCKER_HOST:-unix:///var/run/docker.sock}
SOCK_PATH=${SOCK#unix://}
answers() { docker -H "$SOCK" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && answers; then
  echo "dockerd: answering on $SOCK ($(docker -H "$SOCK" version --format '{{.Server.Version}}'))"
  exit 0
fi

SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
if ((${#need[@]})); then
  echo "dockerd: installing ${need[*]} (apt)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

ROOT=${BTB_DOCKER_ROOT:-/var/lib/docker}
LOG=${ROOT%/}.log
$SUDO mkdir -p "$ROOT" "$(dirname "$SOCK_PATH")"
echo "dockerd: starting (vfs storage, host network only, data in $ROOT, log $LOG)"
# setsid: the daemon outlives this script and the shell that ran it
$SUDO setsid dockerd --storage-driver=vfs --iptables=false --ip6tables=false --bridge=none \
  -H "unix://$SOCK_PATH" --data-root "$ROOT" --exec-root /var/run/btb-docker \
  --pidfile /var/run/btb-dockerd.pid >>"$LOG" 2>&1 < /dev/null &
for _ in $(seq 1 60); do
  answers && { echo "dockerd: answering on $SOCK"; exit 0; }
  sleep 0.5
done
echo "dockerd: did not answer within 30 s; last lines of $LOG:" >&2
tail -20 "$LOG" >&2
exit 1
