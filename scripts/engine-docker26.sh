#!/usr/bin/env bash
# A second engine for the kit's tests: Docker 26.1.5 (Debian 13's docker.io) beside the machine's own.
#
#   bash scripts/engine-docker26.sh up [containerd|overlay2]   # default: containerd (the image store of
#                                                              # Docker 29 fresh installs and Docker Desktop)
#   bash scripts/engine-docker26.sh down                       # stop it; leave nothing running or mounted
#   bash scripts/engine-docker26.sh env                        # print the DOCKER_HOST of the running engine
#   bash scripts/engine-docker26.sh purge                      # down, then forget its images (data roots)
#
# How (FIELD-NOTES, "Engines as learners have them"): a Debian 13 (trixie) chroot made by debootstrap,
# with docker.io, docker-cli, docker-buildx, containerd and runc from Debian, cached under
# $KIT_ENGINES_CACHE (default /var/cache/kit-engines, outside the repository; made once, ~2 minutes).
# dockerd runs chrooted there, in a network namespace of its own (kitd26): its bridge, its iptables and
# its published ports stay apart from the default engine's docker0 and the host's rules. It is reached
#   - over tcp://10.213.0.2:2375 (the namespace's address): a "remote" engine, whose published ports are
#     on 10.213.0.2. This is the DOCKER_HOST to use: the kit then probes apps where they are published.
#   - over a unix socket, for tools on this machine (written to the env file, KIT_D26_SOCKET).
# `up` writes both to $KIT_ENGINES_RUN/docker26.env (default /run/kit-engines) and prints the DOCKER_HOST.
# The engine trusts a registry on 10.213.0.1 (this machine's side) without TLS: the env file names that
# address as KIT_TEST_REGISTRY_ADDR, where tests/test_registry.py then runs its registry.
# It also makes a Docker CLI config folder whose cli-plugins hold the chroot's buildx (DOCKER_CONFIG in the
# env file): a CLI given it builds with buildx, as a Docker 26 learner's does, without touching ~/.docker.
#
# dockerd is started with `nsenter --net=` (not `ip netns exec`, which remounts /sys in a mount
# namespace of its own) and `chroot`: the chroot's /sys is a recursive bind of the host's, so dockerd
# finds the cgroups. Both stores keep their own data root inside the chroot, kept across up/down
# (images loaded once stay); `purge` removes them.
#
# Names and addresses (apart from the test suite's kitremote, kitspare0, 10.211.0.0/24, 10.212.0.0/24):
#   netns kitd26, veth kitd26h (host, 10.213.0.1/24) <-> kitd26n (engine, 10.213.0.2/24),
#   the engine's bridge (inside its namespace) 10.213.1.1/24, its networks from 10.213.128.0/17.
# No route leaves the namespace and the host's iptables are not touched: the engine reaches nothing but
# this machine's 10.213.0.1 (no registry, as everywhere here; the kit's builds need none).
set -euo pipefail

CACHE=${KIT_ENGINES_CACHE:-/var/cache/kit-engines}
RUNDIR=${KIT_ENGINES_RUN:-/run/kit-engines}
ROOT=$CACHE/trixie-docker26          # the chroot (its packages installed: marker .kit-ready)
ENVFILE=$RUNDIR/docker26.env
CLICONF=$CACHE/docker26-cli          # a DOCKER_CONFIG with the chroot's buildx as a CLI plugin
NETNS=kitd26 VETH_HOST=kitd26h VETH_NS=kitd26n
HOST_IP=10.213.0.1 ENGINE_IP=10.213.0.2
BIP=10.213.1.1/24 POOL=base=10.213.128.0/17,size=24
PORT=2375
SOCK_IN=/run/docker26.sock           # paths as dockerd sees them, inside the chroot
PID_IN=/run/docker26.pid
EXEC_IN=/run/docker26
LOG=$CACHE/docker26.log
# procps: `docker top` runs ps on the engine's host (the kit reads a container's user with it).
PACKAGES="docker.io docker-cli docker-buildx containerd runc iptables ca-certificates procps"
WANT_VERSION=26.

say() { echo "engine-docker26: $*"; }
die() {  # one clear message: what happened, what to do
  echo "engine-docker26: $1" >&2
  [ -n "${2:-}" ] && echo "  What to do: $2" >&2
  exit 1
}

usage() { die "usage: $0 up [containerd|overlay2] | down | env | purge" "name one of those actions."; }

need_root() {
  [ "$(id -u)" = 0 ] || die "this script makes a chroot, a network namespace and mounts: it needs root." \
    "run it as root (sudo bash $0 $*)."
}

is_mounted() { awk -v p="$1" '$5 == p {found=1} END {exit !found}' /proc/self/mountinfo; }

# Every mount point at or under $ROOT, deepest first.
mounts_under_root() {
  awk -v r="$ROOT" '$5 == r || index($5, r "/") == 1 {print $5}' /proc/self/mountinfo | sort -r | uniq
}

dockerd_pid() {  # the running dockerd of this engine, or nothing
  local pid
  pid=$(cat "$ROOT$PID_IN" 2>/dev/null) || return 0
  if [ -n "$pid" ] && [ -d "/proc/$pid" ] && [ "$(readlink "/proc/$pid/root")" = "$ROOT" ] \
     && [ "$(cat "/proc/$pid/comm")" = dockerd ]; then
    echo "$pid"
  fi
}

# Every process whose root is the chroot (dockerd, its containerd, the shims), by pid: nothing else.
chroot_pids() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$ROOT" ] && echo "${p#/proc/}"
  done
  return 0
}

answers() {
  curl -sf --max-time 3 --unix-socket "$ROOT$SOCK_IN" http://docker/_ping >/dev/null 2>&1 \
    && curl -sf --max-time 3 "http://$ENGINE_IP:$PORT/_ping" >/dev/null 2>&1
}

running_store() { cat "$RUNDIR/docker26.store" 2>/dev/null || true; }

# Install $PACKAGES into a chroot (apt needs its /proc and /dev while it runs).
install_packages() {
  local dir=$1 ok=0
  cp /etc/resolv.conf "$dir/etc/resolv.conf"
  mount -t proc proc "$dir/proc"
  mount --rbind /dev "$dir/dev" && mount --make-rslave "$dir/dev"
  chroot "$dir" sh -c "export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && \
      apt-get install -y -qq --no-install-recommends $PACKAGES" >"$CACHE/apt.log" 2>&1 || ok=$?
  unmount_under "$dir/proc"
  unmount_under "$dir/dev"
  [ "$ok" = 0 ] || die "installing Docker into the chroot failed; apt's last lines:
$(tail -n 5 "$CACHE/apt.log")" "check that Debian's mirror answers, then run this again."
  echo "$PACKAGES" >"$dir/.kit-ready"  # what it holds: a longer list later installs the rest
}

make_chroot() {
  if [ -f "$ROOT/.kit-ready" ]; then
    if [ "$(cat "$ROOT/.kit-ready")" != "$PACKAGES" ]; then
      [ -z "$(dockerd_pid)" ] || die "the chroot lacks packages this script now wants, and Docker 26 runs from it." \
        "run \`bash $0 down\`, then \`up\` again."
      say "adding packages to the cached chroot: $PACKAGES"
      unmount_under "$ROOT"
      install_packages "$ROOT"
    fi
    return 0
  fi
  command -v debootstrap >/dev/null || die "debootstrap is not installed." "apt-get install debootstrap, then run this again."
  local t0=$SECONDS part=$ROOT.part
  say "making the Debian 13 chroot with Docker 26 in $ROOT (once; about 1 minute)"
  mkdir -p "$CACHE"
  unmount_under "$part"
  rm -rf "$part"
  debootstrap --variant=minbase trixie "$part" >"$CACHE/debootstrap.log" 2>&1 \
    || die "debootstrap of Debian 13 (trixie) failed; its log's last lines:
$(tail -n 5 "$CACHE/debootstrap.log")" "check that Debian's mirror answers (apt-get update), then run this again."
  install_packages "$part"
  local v
  v=$(chroot "$part" dockerd --version 2>&1 || true)
  case "$v" in
    *"version $WANT_VERSION"*) ;;
    *) die "Debian 13's docker.io is no longer Docker 26 ($v)." \
         "pin the version in $0 (PACKAGES) or update the kit's notes on which engine CI runs." ;;
  esac
  unmount_under "$ROOT"
  rm -rf "$ROOT"
  mv "$part" "$ROOT"
  say "chroot ready in $((SECONDS - t0)) s: $v"
}

# Unmount everything at or under a folder, deepest first; lazily if it is busy.
unmount_under() {
  local dir=$1 m
  for m in $(awk -v r="$dir" '$5 == r || index($5, r "/") == 1 {print $5}' /proc/self/mountinfo | sort -r | uniq); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
}

make_mounts() {
  # `docker load` needs the daemon's / to be a mount point; the rest are what dockerd and runc need.
  is_mounted "$ROOT" || mount --bind "$ROOT" "$ROOT"
  mount --make-private "$ROOT"
  is_mounted "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
  if ! is_mounted "$ROOT/sys"; then
    mount --rbind /sys "$ROOT/sys" && mount --make-rslave "$ROOT/sys"  # unmounting it never reaches the host's
  fi
  if ! is_mounted "$ROOT/dev"; then
    mount --rbind /dev "$ROOT/dev" && mount --make-rslave "$ROOT/dev"
  fi
  is_mounted "$ROOT/run" || mount -t tmpfs -o mode=755 tmpfs "$ROOT/run"
  cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
}

write_daemon_config() {
  # One config file per image store. insecure-registries: a registry on this machine's side of the veth
  # (the tests' docker-registry) is trusted without TLS, as Docker trusts 127.0.0.1.
  local trust='"insecure-registries": ["'"$HOST_IP"'/32"]'
  mkdir -p "$ROOT/etc/docker"
  printf '{"features": {"containerd-snapshotter": true}, %s}\n' "$trust" >"$ROOT/etc/docker/daemon-containerd.json"
  printf '{"storage-driver": "overlay2", %s}\n' "$trust" >"$ROOT/etc/docker/daemon-overlay2.json"
}

make_network() {
  if ! ip netns list | grep -qw "^$NETNS"; then
    ip netns add "$NETNS"
  fi
  if ! ip link show "$VETH_HOST" >/dev/null 2>&1; then
    ip link add "$VETH_HOST" type veth peer name "$VETH_NS"
    ip link set "$VETH_NS" netns "$NETNS"
    ip addr add "$HOST_IP/24" dev "$VETH_HOST"
    ip link set "$VETH_HOST" up
    ip -n "$NETNS" addr add "$ENGINE_IP/24" dev "$VETH_NS"
    ip -n "$NETNS" link set "$VETH_NS" up
    ip -n "$NETNS" link set lo up
  fi
}

write_env() {
  local store=$1
  mkdir -p "$RUNDIR" "$CLICONF/cli-plugins"
  ln -sfn "$ROOT/usr/libexec/docker/cli-plugins/docker-buildx" "$CLICONF/cli-plugins/docker-buildx"
  [ -f "$CLICONF/config.json" ] || echo '{}' >"$CLICONF/config.json"
  cat >"$ENVFILE" <<EOF
# Docker 26 ($store image store), from scripts/engine-docker26.sh. Source this file, or export the first line.
DOCKER_HOST=tcp://$ENGINE_IP:$PORT
KIT_D26_SOCKET=unix://$ROOT$SOCK_IN
KIT_D26_STORE=$store
DOCKER_CONFIG=$CLICONF
KIT_TEST_REGISTRY_ADDR=$HOST_IP
EOF
  echo "$store" >"$RUNDIR/docker26.store"
}

up() {
  local store=${1:-containerd}
  case "$store" in containerd|overlay2) ;; *) die "unknown image store '$store'." "name containerd or overlay2." ;; esac
  need_root up
  for tool in ip nsenter chroot curl mount; do
    command -v "$tool" >/dev/null || die "$tool is not installed." "install it (Debian: iproute2, util-linux, curl)."
  done
  if [ -n "$(dockerd_pid)" ]; then
    local now
    now=$(running_store)
    if [ "$now" != "$store" ]; then
      die "Docker 26 already runs here with the $now image store, not $store." \
        "run \`bash $0 down\` first, then \`up $store\`."
    fi
    if answers; then
      write_env "$store"
      say "Docker 26 ($store store) already answers"
      echo "DOCKER_HOST=tcp://$ENGINE_IP:$PORT"
      return 0
    fi
  fi
  local t0=$SECONDS
  make_chroot
  make_mounts
  write_daemon_config
  make_network
  if [ -z "$(dockerd_pid)" ]; then
    rm -f "$ROOT$PID_IN" "$ROOT$EXEC_IN/containerd/containerd.pid"
    say "starting dockerd ($store image store; log: $LOG)"
    # setsid: dockerd outlives this script and whatever called it; `down` stops it by its pid.
    setsid nsenter --net="/var/run/netns/$NETNS" chroot "$ROOT" /usr/sbin/dockerd \
      --config-file "/etc/docker/daemon-$store.json" \
      --host "unix://$SOCK_IN" --host "tcp://$ENGINE_IP:$PORT" --tls=false \
      --data-root "/var/lib/docker26-$store" --exec-root "$EXEC_IN" --pidfile "$PID_IN" \
      --bip "$BIP" --default-address-pool "$POOL" \
      >>"$LOG" 2>&1 </dev/null &
  fi
  local waited=0
  until answers; do
    if [ "$waited" -ge "${KIT_D26_WAIT:-90}" ] || { [ "$waited" -ge 5 ] && [ -z "$(dockerd_pid)" ]; }; then
      echo "engine-docker26: Docker 26 did not answer within $waited s; dockerd's last lines ($LOG):" >&2
      tail -n 15 "$LOG" >&2 || true
      echo "  What to do: read the log above, run \`bash $0 down\`, then \`up\` again." >&2
      exit 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
  write_env "$store"
  say "Docker $(curl -sf --unix-socket "$ROOT$SOCK_IN" http://docker/version | sed 's/.*"Version":"\([^"]*\)".*/\1/' | head -c 40) ($store image store) answers after $((SECONDS - t0)) s; settings in $ENVFILE"
  echo "DOCKER_HOST=tcp://$ENGINE_IP:$PORT"
}

down() {
  need_root down
  local pid waited=0
  pid=$(dockerd_pid)
  if [ -n "$pid" ]; then
    say "stopping dockerd (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    while [ -d "/proc/$pid" ] && [ "$waited" -lt 30 ]; do sleep 1; waited=$((waited + 1)); done
  fi
  # What dockerd left (its containerd, shims, containers' processes): every process rooted in the chroot.
  local left
  left=$(chroot_pids)
  if [ -n "$left" ]; then
    say "stopping what dockerd left: pids $(echo $left)"
    kill -TERM $left 2>/dev/null || true
    sleep 2
    left=$(chroot_pids)
    [ -z "$left" ] || kill -KILL $left 2>/dev/null || true
    sleep 0.5
  fi
  unmount_under "$ROOT"
  ip link delete "$VETH_HOST" 2>/dev/null || true
  ip netns delete "$NETNS" 2>/dev/null || true
  rm -f "$ENVFILE" "$RUNDIR/docker26.store"
  local still
  still=$(mounts_under_root)
  [ -z "$still" ] || die "these stay mounted: $still" "unmount them (umount -l), then run \`down\` again."
  [ -z "$(chroot_pids)" ] || die "processes in the chroot outlived SIGKILL: $(chroot_pids | tr '\n' ' ')" \
    "look at them with ps, then run \`down\` again."
  say "down: no dockerd, mount, namespace or veth of Docker 26 left"
}

case "${1:-}" in
  up) up "${2:-containerd}" ;;
  down) down ;;
  env)
    [ -f "$ENVFILE" ] && [ -n "$(dockerd_pid)" ] || die "Docker 26 is not running." "run \`bash $0 up\` first."
    grep -v '^#' "$ENVFILE" ;;
  purge)
    down
    rm -rf "$ROOT/var/lib/docker26-containerd" "$ROOT/var/lib/docker26-overlay2"
    say "purged both data roots (the chroot itself stays cached in $ROOT)" ;;
  *) usage ;;
esac
