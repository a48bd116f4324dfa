#!/usr/bin/env bash
# A Podman engine beside the machine's Docker, serving the Docker-compatible API on its own socket.
#
#   bash scripts/engine-podman.sh up      install Debian's podman if missing, start the API service,
#                                         wait until it answers; print the DOCKER_HOST to use (stdout)
#   bash scripts/engine-podman.sh down    stop every container, the service, its conmon processes; remove
#                                         its bridge and its CNI firewall rules; keep its images
#   bash scripts/engine-podman.sh purge   down, then remove its storage (/var/lib/kit-podman) too
#
# Kept apart from everything else on the machine, so the default Docker engine (docker0, its DOCKER
# iptables chains) and any other podman are untouched:
#   - its own configuration (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF, CONTAINERS_REGISTRIES_CONF) and
#     storage under /var/lib/kit-podman, its run state under /run/kit-podman;
#   - its own CNI network "kitpodman": bridge kitpod0, 10.214.0.0/24, its configuration under
#     /var/lib/kit-podman/networks; CNI adds its own chains (CNI-*) and jumps to them, never changes
#     the DOCKER ones; `down` removes them again.
# Root only (rootful podman); every run is idempotent. Messages go to stderr, the DOCKER_HOST to stdout:
#   export "$(bash scripts/engine-podman.sh up)"
set -euo pipefail

SOCK=/run/kit-podman.sock
HOST="unix://$SOCK"
STATE=/var/lib/kit-podman
RUN=/run/kit-podman
PIDFILE=$RUN/service.pid
LOG=${KIT_PODMAN_LOG:-/var/log/kit-podman.log}
BRIDGE=kitpod0
NETWORK=kitpodman
SUBNET=10.214.0.0/24
GATEWAY=10.214.0.1

say() { echo "engine-podman: $*" >&2; }
die() { say "$*"; exit 1; }

export CONTAINERS_CONF=$STATE/containers.conf
export CONTAINERS_STORAGE_CONF=$STATE/storage.conf
export CONTAINERS_REGISTRIES_CONF=$STATE/registries.conf

answers() { curl -sf --max-time 5 --unix-socket "$SOCK" http://d/_ping >/dev/null 2>&1; }

# The service's pid, found by what it is (podman's "system service" on this engine's socket), not by the
# pid `&` gave: setsid forks where it runs as a process group leader, and that pid is gone at once (a
# CI run once took the live service for a dead one so, and stopped it).
service_pid() {
  local p cmd
  for p in $(own_pids); do
    cmd=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) || continue
    case "$cmd" in
      podman*" system service "*"$SOCK"*) echo "$p"; return 0 ;;
    esac
  done
  return 1
}

# Processes of this engine only: podman or conmon, whose command line names its socket or folders.
own_pids() {
  local p cmd comm
  for p in /proc/[0-9]*; do
    read -r comm <"$p/comm" 2>/dev/null || continue
    case "$comm" in podman | conmon) ;; *) continue ;; esac
    cmd=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) || continue
    case "$cmd" in
      *"$STATE"* | *"$RUN/"* | *"$SOCK"*) echo "${p#/proc/}" ;;
    esac
  done
}

install() {
  command -v podman >/dev/null 2>&1 && [ -d /usr/lib/cni ] && return 0
  [ "$(id -u)" = 0 ] || die "podman is not installed, and only root can install it: run this as root (or \`sudo apt-get install podman\`)."
  command -v apt-get >/dev/null 2>&1 || die "podman is not installed, and this script installs it only on Debian/Ubuntu (apt-get): install podman yourself."
  local started=$SECONDS
  say "installing Debian's podman (with its CNI plugins and iptables)"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq --no-install-recommends podman containernetworking-plugins iptables >/dev/null 2>&1; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends podman containernetworking-plugins iptables >/dev/null \
      || die "installing podman with apt-get failed: run \`apt-get install --no-install-recommends podman\` to see why."
  fi
  say "installed $(podman --version) in $((SECONDS - started)) s"
}

configure() {
  mkdir -p "$STATE/storage" "$STATE/networks" "$RUN"
  cat >"$STATE/storage.conf" <<EOF
# The kit's Podman: storage of its own, apart from /var/lib/containers and Docker's.
[storage]
driver = "overlay"
graphroot = "$STATE/storage"
runroot = "$RUN/storage"
EOF
  # Podman gives every container limits of 1048576 open files and as many processes, which a process
  # may set only up to its own hard limits: where those are lower (here 20000 files; and the service
  # itself runs with fewer processes than its shell allows), every container fails to start ("error
  # setting rlimit type 7 [6]: operation not permitted"). Give containers the service's own limits:
  # the shell's at first, then (see up) what the running service really has.
  local nofile=${1:-$(ulimit -Hn)} nproc=${2:-$(ulimit -Hu)}
  [ "$nofile" = unlimited ] && nofile=1048576
  [ "$nproc" = unlimited ] && nproc=1048576
  cat >"$STATE/containers.conf" <<EOF
# The kit's Podman (scripts/engine-podman.sh): no systemd or journald here; its own run folder and network.
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$RUN/libpod"
[network]
network_backend = "cni"
network_config_dir = "$STATE/networks"
default_network = "$NETWORK"
default_subnet = "$SUBNET"
EOF
  cat >"$STATE/registries.conf" <<EOF
# No registry answers here: short names are looked up locally, then on Docker Hub (which fails fast).
unqualified-search-registries = ["docker.io"]
short-name-mode = "permissive"

# Docker trusts a registry on 127.0.0.1 over plain HTTP; Podman trusts none unless told. As Docker, for
# the registry the pull tests run on 127.0.0.1 (on any port: containers/image matches "127.0.0.1" to
# "127.0.0.1:PORT").
[[registry]]
location = "127.0.0.1"
insecure = true
EOF
  cat >"$STATE/networks/$NETWORK.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "$NETWORK",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$RUN/cni",
        "routes": [{ "dst": "0.0.0.0/0" }],
        "ranges": [[{ "subnet": "$SUBNET", "gateway": "$GATEWAY" }]]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } },
    { "type": "firewall", "backend": "iptables" },
    { "type": "tuning" }
  ]
}
EOF
}

up() {
  if answers && service_pid >/dev/null; then
    say "Podman answers on $SOCK ($(version))"
    echo "DOCKER_HOST=$HOST"
    return 0
  fi
  # First (podman reads its storage.conf even for --version); with the limits the service had last time.
  # shellcheck disable=SC2046
  configure $(sed -n 's/.*"nofile=\([0-9]*\):.*"nproc=\([0-9]*\):.*/\1 \2/p' "$STATE/containers.conf" 2>/dev/null)
  install
  [ "$(id -u)" = 0 ] || die "the kit's Podman engine runs as root: run this as root."
  stop_service   # a service that does not answer, or a socket left behind
  say "starting podman system service on $SOCK (log: $LOG)"
  # setsid: the service must outlive this script and the make/pytest process that called it.
  start_service || fail_start
  local pid files procs
  pid=$(service_pid)
  files=$(awk '/^Max open files/ {print $5}' "/proc/$pid/limits")
  procs=$(awk '/^Max processes/ {print $4}' "/proc/$pid/limits")
  if ! grep -q "nofile=$files:$files\", \"nproc=$procs:$procs\"" "$STATE/containers.conf"; then
    say "the service runs with limits of $files open files and $procs processes: giving containers those"
    configure "$files" "$procs"
    stop_service
    start_service || fail_start
  fi
  say "Podman answers on $SOCK ($(version))"
  echo "DOCKER_HOST=$HOST"
}

start_service() {
  : >"$LOG"
  setsid -f podman --log-level=info system service --time=0 "$HOST" >>"$LOG" 2>&1 </dev/null
  local i
  for i in $(seq 1 60); do
    answers && { service_pid >"$PIDFILE"; return 0; }
    [ "$i" -gt 4 ] && ! service_pid >/dev/null && return 1  # gone: it will not answer
    sleep 0.5
  done
  return 1
}

fail_start() {
  say "podman system service did not answer on $SOCK (it stopped, or 30 s went by); its last lines ($LOG):"
  tail -n 20 "$LOG" >&2 || true
  stop_service
  exit 1
}

version() {
  curl -sf --max-time 5 --unix-socket "$SOCK" http://d/version \
    | python3 -c 'import json,sys; v=json.load(sys.stdin); print("Podman", v.get("Version"), "API", v.get("ApiVersion"))' \
    2>/dev/null || echo "version unknown"
}

stop_service() {
  local pid
  if pid=$(service_pid); then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDFILE" "$SOCK"
}

# CNI's own iptables chains, and the jumps to them: removed when no container of any CNI network is left.
remove_cni_rules() {
  if iptables -t nat -S 2>/dev/null | grep -qE '^-N CNI-[0-9a-f]{24}'; then
    say "CNI rules of other containers remain in the nat table: leaving the CNI chains in place"
    return 0
  fi
  local table rule chain
  for table in filter nat; do
    iptables -t "$table" -S 2>/dev/null | grep -E '^-A [A-Z]+ .*-j CNI-' | grep -vE '^-A CNI-' \
      | while read -r rule; do
          # eval: the rules carry quoted comments ("CNI firewall plugin rules"), as iptables -S prints them
          eval "iptables -t $table ${rule/-A/-D}" 2>/dev/null || true
        done || true   # grep finds nothing once they are gone (pipefail)
    for chain in $(iptables -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^CNI-/ {print $2}'); do
      iptables -t "$table" -F "$chain" 2>/dev/null || true
    done
    for chain in $(iptables -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^CNI-/ {print $2}'); do
      iptables -t "$table" -X "$chain" 2>/dev/null || true
    done
  done
}

down() {
  if ! command -v podman >/dev/null 2>&1; then
    say "podman is not installed: nothing runs"
    return 0
  fi
  if [ -f "$STATE/containers.conf" ]; then
    # Every container of this engine, through its own storage (not the service: it may be gone).
    timeout 120 podman rm --all --force --time 2 >/dev/null 2>&1 || true
    timeout 60 podman pod rm --all --force >/dev/null 2>&1 || true
  fi
  stop_service
  local pids
  pids=$(own_pids)
  if [ -n "$pids" ]; then
    say "stopping what the service left: $(echo $pids)"
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null || true
    sleep 1
    pids=$(own_pids)
    # shellcheck disable=SC2086
    [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
  fi
  # Its storage's mounts (overlay layers of containers that were running).
  awk -v a="$STATE/" -v b="$RUN/" 'index($2, a) == 1 || index($2, b) == 1 {print $2}' /proc/mounts \
    | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done || true
  ip link show "$BRIDGE" >/dev/null 2>&1 && ip link delete "$BRIDGE" 2>/dev/null || true
  remove_cni_rules
  rm -rf "$RUN"
  pids=$(own_pids)
  [ -z "$pids" ] || die "processes of the kit's Podman still run after down: $(echo $pids); stop them (kill PID) and run down again."
  say "Podman is down (nothing of it runs; its images stay in $STATE/storage until purge)"
}

purge() {
  down
  if [ -d "$STATE" ]; then
    awk -v a="$STATE/" 'index($2, a) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do umount -l "$m"; done || true
    rm -rf "$STATE"
    say "removed $STATE"
  fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  purge) purge ;;
  *) echo "usage: bash scripts/engine-podman.sh up|down|purge" >&2; exit 2 ;;
esac
