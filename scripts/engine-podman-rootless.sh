#!/usr/bin/env bash
# Rootless Podman: the engine of a learner on a shared Linux host, who may not be root. Run as root,
# this sets up a user of its own and serves that user's Podman on a Docker-compatible socket.
#
#   bash scripts/engine-podman-rootless.sh up      install what rootless Podman needs, make its user, start
#                                                  the user's API service; print the DOCKER_HOST (stdout)
#   bash scripts/engine-podman-rootless.sh down    stop the user's containers and service; keep its images
#   bash scripts/engine-podman-rootless.sh purge   down, then remove the user's images too
#
# What rootless Podman needs, and how this machine gets it (each measured here, Debian 12, Podman 4.3.1):
#   - subordinate user and group ids for the user namespace (uidmap's newuidmap, /etc/subuid);
#   - a storage driver a user may mount: the kernel's own overlay (Linux 5.13 and later), no fuse;
#   - a network: slirp4netns, which opens /dev/net/tun. Linux makes /dev/net/tun mode 0666; some
#     machines (containers, sandboxes) give it 0600, and then no container can start. `up` sets 0666
#     and `down` puts the machine's own mode back. Podman's default "rootless netns" for the Docker
#     API's bridge network fails here ("failed to mount runtime directory for rootless netns"), so the
#     user's containers.conf names slirp4netns, as on many hosts.
# Apart from the rootful engine (scripts/engine-podman.sh) and Docker: the user's own storage under
# its home, its socket under its XDG_RUNTIME_DIR. Messages go to stderr, the DOCKER_HOST to stdout:
#   export "$(bash scripts/engine-podman-rootless.sh up)"
# A client as root may use that socket (root passes its permissions); a learner would run as the user.
set -euo pipefail

USER_NAME=${KIT_ROOTLESS_USER:-kitpodman}
LOG=${KIT_PODMAN_ROOTLESS_LOG:-/var/log/kit-podman-rootless.log}
TUN=/dev/net/tun
TUN_MODE_FILE=/run/kit-podman-rootless.tun-mode

say() { echo "engine-podman-rootless: $*" >&2; }
die() { say "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "this script sets up a user and its engine: run it as root (a learner's own rootless Podman needs none of it)."

uid() { id -u "$USER_NAME"; }
rundir() { echo "/run/user/$(uid)"; }
sock() { echo "$(rundir)/kit-podman.sock"; }
as_user() {  # as_user COMMAND...: run it as the user, in its home, with its runtime folder
  runuser -u "$USER_NAME" -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="/home/$USER_NAME" \
    XDG_RUNTIME_DIR="$(rundir)" bash -c 'cd ~ && "$@"' as_user "$@"
}
answers() { curl -sf --max-time 5 --unix-socket "$(sock)" http://d/_ping >/dev/null 2>&1; }

install() {
  local missing=()
  command -v podman >/dev/null 2>&1 || missing+=(podman)
  command -v newuidmap >/dev/null 2>&1 || missing+=(uidmap)
  command -v slirp4netns >/dev/null 2>&1 || missing+=(slirp4netns)
  [ ${#missing[@]} = 0 ] && return 0
  command -v apt-get >/dev/null 2>&1 || die "missing: ${missing[*]}; this script installs them only with apt-get: install them yourself."
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
      || die "installing ${missing[*]} with apt-get failed: run \`apt-get install ${missing[*]}\` to see why."
  fi
}

make_user() {
  id "$USER_NAME" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$USER_NAME"
  grep -q "^$USER_NAME:" /etc/subuid 2>/dev/null || usermod --add-subuids 300000-365535 "$USER_NAME"
  grep -q "^$USER_NAME:" /etc/subgid 2>/dev/null || usermod --add-subgids 300000-365535 "$USER_NAME"
  mkdir -p "$(rundir)"
  chown "$USER_NAME:" "$(rundir)"
  chmod 700 "$(rundir)"
  local conf="/home/$USER_NAME/.config/containers"
  mkdir -p "$conf"
  cat >"$conf/storage.conf" <<EOF
# The kit's rootless Podman (scripts/engine-podman-rootless.sh): the kernel's overlay, no fuse.
[storage]
driver = "overlay"
EOF
  cat >"$conf/containers.conf" <<EOF
# The kit's rootless Podman: slirp4netns for every container; no systemd or journald here.
[containers]
netns = "slirp4netns"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
  cat >"$conf/registries.conf" <<EOF
# No registry answers here: short names are looked up locally, then on Docker Hub (which fails fast).
# Docker trusts a registry on 127.0.0.1 over plain HTTP; so does this engine, for the pull tests.
unqualified-search-registries = ["docker.io"]
short-name-mode = "permissive"
[[registry]]
location = "127.0.0.1"
insecure = true
EOF
  chown -R "$USER_NAME:" "/home/$USER_NAME/.config"
}

open_tun() {
  local mode
  mode=$(stat -c %a "$TUN" 2>/dev/null) || die "$TUN does not exist: rootless networking (slirp4netns) needs the tun module (modprobe tun)."
  if [ "$mode" != 666 ]; then
    [ -f "$TUN_MODE_FILE" ] || echo "$mode" >"$TUN_MODE_FILE"
    say "$TUN has mode $mode here (Linux's default is 666, which slirp4netns needs): setting 666 until down"
    chmod 666 "$TUN"
  fi
}

restore_tun() {
  if [ -f "$TUN_MODE_FILE" ]; then
    chmod "$(cat "$TUN_MODE_FILE")" "$TUN" 2>/dev/null || true
    rm -f "$TUN_MODE_FILE"
  fi
}

up() {
  install
  make_user
  open_tun
  if answers; then
    say "rootless Podman answers on $(sock) ($(version))"
    echo "DOCKER_HOST=unix://$(sock)"
    return 0
  fi
  stop_service
  say "starting $USER_NAME's podman system service on $(sock) (log: $LOG)"
  : >"$LOG"
  as_user setsid -f podman --log-level=info system service --time=0 "unix://$(sock)" >>"$LOG" 2>&1 </dev/null
  local i
  for i in $(seq 1 60); do
    if answers; then
      say "rootless Podman answers on $(sock) ($(version))"
      echo "DOCKER_HOST=unix://$(sock)"
      return 0
    fi
    sleep 0.5
  done
  say "the rootless service did not answer in 30 s; its last lines ($LOG):"
  tail -n 20 "$LOG" >&2 || true
  down
  exit 1
}

version() {
  curl -sf --max-time 5 --unix-socket "$(sock)" http://d/version \
    | python3 -c 'import json,sys; v=json.load(sys.stdin); print("Podman", v.get("Version"), "API", v.get("ApiVersion"), "rootless")' \
    2>/dev/null || echo "version unknown"
}

stop_service() {
  pkill -TERM -u "$USER_NAME" 2>/dev/null || true
  for _ in $(seq 1 20); do pgrep -u "$USER_NAME" >/dev/null || break; sleep 0.5; done
  pkill -KILL -u "$USER_NAME" 2>/dev/null || true
  rm -f "$(sock)"
}

down() {
  if ! id "$USER_NAME" >/dev/null 2>&1; then
    restore_tun
    say "no user $USER_NAME: nothing runs"
    return 0
  fi
  # Every container of the user's, through its storage (not the service: it may be gone).
  timeout 120 runuser -u "$USER_NAME" -- env HOME="/home/$USER_NAME" XDG_RUNTIME_DIR="$(rundir)" \
    podman rm --all --force --time 2 >/dev/null 2>&1 || true
  stop_service
  restore_tun
  pgrep -u "$USER_NAME" >/dev/null && die "processes of $USER_NAME still run after down: $(pgrep -u "$USER_NAME" | xargs); stop them and run down again."
  say "rootless Podman is down (nothing of $USER_NAME runs; its images stay until purge)"
}

purge() {
  down
  if id "$USER_NAME" >/dev/null 2>&1; then
    timeout 300 runuser -u "$USER_NAME" -- env HOME="/home/$USER_NAME" XDG_RUNTIME_DIR="$(rundir)" \
      podman system reset --force >/dev/null 2>&1 || true
    stop_service
    say "removed $USER_NAME's images and containers"
  fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  purge) purge ;;
  *) echo "usage: bash scripts/engine-podman-rootless.sh up|down|purge" >&2; exit 2 ;;
esac
