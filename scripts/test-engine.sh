#!/usr/bin/env bash
# Run the kit's engine-dependent tests against another engine, brought up from this repository's scripts:
#
#   bash scripts/test-engine.sh docker26 [containerd|overlay2]    # default: containerd
#   bash scripts/test-engine.sh podman | podman-rootless           # scripts/test-podman.sh
#
# 1. brings the engine up (scripts/engine-docker26.sh; its Debian 13 chroot is cached after the first run);
# 2. loads the bases with the kit's own `bundle load`, from a bundle the kit's `bundle save` wrote from
#    the default engine (read-only there), cached by scripts/bases-bundle.sh: a new one whenever the
#    default engine's bases change;
# 3. runs `pytest -m "docker and not machine_engine and not browser and not default_engine and not <engine's
#    exclusions>" tests`
#    with DOCKER_HOST naming that engine;
# 4. tears the engine down, whatever happened (also on Ctrl-C), and says how long each part took.
#
# Each run starts from an empty image store (KIT_ENGINE_KEEP=1 keeps the last run's images), as a
# fresh CI machine would. Extra arguments after the store go to pytest (e.g. -k run, -x).
# Exit code: pytest's; 1 with one message when the engine or the bases could not be made ready.
set -uo pipefail
cd "$(dirname "$0")/.."

ENGINE=${1:-}
case "$ENGINE" in  # Podman's own runner; every argument after the engine goes to pytest
  podman) shift; exec bash scripts/test-podman.sh "$@" ;;
  podman-rootless) shift; KIT_PODMAN_ROOTLESS=1 exec bash scripts/test-podman.sh "$@" ;;
esac
STORE=${2:-containerd}
shift 2 2>/dev/null || shift $#
PY=${PY:-.venv/bin/python}
CACHE=${KIT_ENGINES_CACHE:-/var/cache/kit-engines}
export KIT_ENGINES_CACHE=$CACHE

die() {
  echo "test-engine: $1" >&2
  [ -n "${2:-}" ] && echo "  What to do: $2" >&2
  exit 1
}

case "$ENGINE" in
  docker26) UP=scripts/engine-docker26.sh ;;
  *) die "unknown engine '${ENGINE}'." "name one of: docker26 (Docker 26, Debian 13's; containerd or overlay2 store), podman, podman-rootless." ;;
esac
[ -x "$PY" ] || die "there is no Python environment at $PY." "run \`make venv\` first (or set PY=path/to/python)."

declare -A took
t() { local t0=$SECONDS; "$@"; local rc=$?; took[$1]=$((SECONDS - t0)); return $rc; }

teardown() {
  local t0=$SECONDS
  bash "$UP" down || echo "test-engine: tearing $ENGINE down failed: see above" >&2
  echo "test-engine: times: engine up ${took[up]:-?} s, bundle ${took[bundle]:-?} s," \
       "bundle load ${took[load]:-?} s, sizes ${took[sizes]:-?} s, tests ${took[tests]:-?} s, down $((SECONDS - t0)) s"
}
trap teardown EXIT
trap 'exit 130' INT TERM

up() {
  if [ -z "${KIT_ENGINE_KEEP:-}" ]; then
    bash "$UP" purge >/dev/null || return 1
  fi
  bash "$UP" up "$STORE"
}

bundle() {  # the default engine's bases, saved once for every engine's run (scripts/bases-bundle.sh)
  BUNDLE=$(PY=$PY bash scripts/bases-bundle.sh)
}

load() {
  "$PY" -m helpers bundle load "$BUNDLE" && "$PY" -m helpers doctor
}

sizes() {  # every variant built on this engine, and its three sizes (the README's engine table)
  "$PY" -m helpers sizes > "${TMPDIR:-/tmp}/kit-sizes-$ENGINE.txt" 2>&1 || { cat "${TMPDIR:-/tmp}/kit-sizes-$ENGINE.txt"; return 1; }
  sed -n '/^Three sizes/,$p' "${TMPDIR:-/tmp}/kit-sizes-$ENGINE.txt"
}

tests() {
  # Left out on every engine but the default: machine_engine (they start engines of the machine's own
  # dockerd), browser (drives JupyterLab, which the default engine's run covers) and local_engine (they
  # hold a port on this machine; Docker 26 here is a remote engine, publishing on its own address), and
  # default_engine (the kit's own logic, the same on every engine: once is enough, within 45 minutes).
  "$PY" -m pytest -m "docker and not machine_engine and not browser and not local_engine and not default_engine" \
    tests "$@"
}

echo "test-engine: $ENGINE ($STORE image store)"
t up || die "$ENGINE did not come up (see above)." "read the message above; \`bash $UP down\` cleans up."
t bundle || die "no bundle of the bases." "see above."
# shellcheck disable=SC1090
set -a; . "${KIT_ENGINES_RUN:-/run/kit-engines}/docker26.env"; set +a  # DOCKER_HOST, DOCKER_CONFIG (its buildx)
export KIT_REQUIRE_ENGINE=1
KIT_EXPECT_IMAGE_STORE=$([ "$STORE" = containerd ] && echo containerd || echo classic)  # the tests check the kit sees it
export KIT_EXPECT_IMAGE_STORE
t load || die "the bases did not load into $ENGINE, or it is not ready (see above)." \
  "check the bundle ($BUNDLE) with \`python -m helpers bundle load\` by hand."
if [ -z "${KIT_SKIP_SIZES:-}" ]; then  # KIT_SKIP_SIZES=1: no table (the tests still build what they need)
  t sizes || echo "test-engine: building every variant for the sizes table failed (above)" >&2
fi
t tests "$@"
exit $?
