#!/usr/bin/env bash
# Make sure a Docker engine answers; on a fresh Debian machine as root, install and start one.
#
# Order of attempts:
#   1. an engine already answers (Docker Desktop, a running dockerd, DOCKER_HOST): nothing to do;
#   2. Debian/Ubuntu as root: install Debian's docker.io (with debootstrap, used to make local base
#      images, and docker-registry, which the tests pull from), start dockerd, wait until it answers;
#   3. otherwise: stop with one message that says how to start Docker on this machine.
set -euo pipefail

log=${KIT_DOCKERD_LOG:-/var/log/kit-dockerd.log}

answers() { timeout 10 docker info >/dev/null 2>&1; }

need_pkgs() {
  local missing=()
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)  # the pull tests' registry
  command -v docker >/dev/null 2>&1 || missing+=(docker.io)
  printf '%s\n' "${missing[@]}" | sort -u | grep . || true
}

if ! command -v docker >/dev/null 2>&1 || ! answers || [ -n "$(need_pkgs)" ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    if answers; then
      exit 0   # an engine answers; local base images will need `debootstrap` only if no registry answers
    fi
    cat >&2 <<'EOF'
engine-up: no Docker engine answers, and this script can only install one as root on Debian/Ubuntu.
  What to do: start Docker yourself (Docker Desktop on macOS/Windows; `sudo systemctl start docker`
  on Linux), check with `docker info`, then run the command again.
EOF
    exit 1
  fi
  pkgs=$(need_pkgs)
  if [ -n "$pkgs" ]; then
    echo "engine-up: installing $(echo $pkgs) from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $pkgs ca-certificates iptables >/dev/null
  fi
fi

if answers; then
  echo "engine-up: Docker engine answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
  exit 0
fi

echo "engine-up: starting dockerd (log: $log)"
# setsid: dockerd must outlive this script and the make/pytest process that called it.
setsid dockerd >"$log" 2>&1 < /dev/null &
for _ in $(seq 1 60); do
  if answers; then
    echo "engine-up: Docker engine answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
    exit 0
  fi
  sleep 1
done
echo "engine-up: dockerd did not answer within 60 s; its last lines ($log):" >&2
tail -n 20 "$log" >&2 || true
exit 1
