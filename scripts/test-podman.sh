#!/usr/bin/env bash
# The engine-dependent tests against Podman, from nothing: bring Podman up, load the kit's bases into it,
# run the tests marked `docker` that can hold there, and take Podman down again whatever happened.
#
#   bash scripts/test-podman.sh [PYTEST ARGS...]      (as root, from the repository; `make test` has run setup)
#   KIT_PODMAN_ROOTLESS=1 bash scripts/test-podman.sh ...   the same against rootless Podman, a user's own
#                                                          engine (scripts/engine-podman-rootless.sh)
#
# The bases come from the default engine, which `make setup` filled: `python -m helpers bundle save`
# (a read of that engine, nothing more), cached by scripts/bases-bundle.sh, then `bundle load` into Podman. Left out, besides the browser test and the tests that start engines
# of the machine's own dockerd (machine_engine): the tests marked docker_only (see pytest.ini), which
# cannot hold on Podman, and those marked default_engine (the kit's own logic, checked once). Each part's time is printed at the end. The exit code is pytest's (or 1 if
# Podman could not be brought up or given its bases).
set -uo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
if [ -n "${KIT_PODMAN_ROOTLESS:-}" ]; then
  ENGINE=scripts/engine-podman-rootless.sh NAME="rootless podman"
else
  ENGINE=scripts/engine-podman.sh NAME=podman
fi
MARKERS="docker and not machine_engine and not browser and not docker_only and not default_engine"
declare -a TIMES=()

say() { echo "test-podman ($NAME): $*" >&2; }
timed() {  # timed LABEL COMMAND...: run it, note how long it took
  local label=$1 start=$SECONDS rc
  shift
  "$@"
  rc=$?
  TIMES+=("$(printf '%-28s %4d s%s' "$label" $((SECONDS - start)) "$([ $rc = 0 ] || echo "  (failed: $rc)")")")
  return $rc
}
finish() {
  local rc=$?
  timed "$NAME down" bash "$ENGINE" down || rc=1
  say "times:"
  printf '  %s\n' "${TIMES[@]}" >&2
  exit $rc
}
trap finish EXIT
trap 'exit 130' INT TERM

[ -x "$PY" ] || { say "no $PY: run \`make venv\` (or \`make setup\`) first."; exit 1; }
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"   # this checkout's helpers, whatever the venv installed

up() {
  local host
  host=$(bash "$ENGINE" up) || return 1
  export "${host?}"   # DOCKER_HOST=unix:///run/kit-podman.sock, or the rootless user's socket
}
timed "$NAME up (install if missing)" up || exit 1

# The bases, as the default engine has them (scripts/bases-bundle.sh: the same cached bundle as Docker 26's).
bundle=$(PY=$PY bash scripts/bases-bundle.sh) || { say "no bundle of the bases can be made"; exit 1; }
timed "bundle load ($NAME)" "$PY" -m helpers bundle load "$bundle" >/dev/null || { say "bundle load failed"; exit 1; }
timed "doctor ($NAME)" "$PY" -m helpers doctor >&2 || { say "doctor is not ready on Podman"; exit 1; }

sizes() {  # every variant built on Podman, and its three sizes (the README's engine table)
  local out="${TMPDIR:-/tmp}/kit-sizes-${NAME// /-}.txt"
  "$PY" -m helpers sizes > "$out" 2>&1 || { cat "$out"; return 1; }
  sed -n '/^Three sizes/,$p' "$out"
}
if [ -z "${KIT_SKIP_SIZES:-}" ]; then  # KIT_SKIP_SIZES=1: no table (the tests still build what they need)
  timed "sizes ($NAME)" sizes || say "building every variant for the sizes table failed (above)"
fi
say "pytest -m \"$MARKERS\" tests (DOCKER_HOST=$DOCKER_HOST)"
timed "pytest ($NAME)" env KIT_REQUIRE_ENGINE=1 "$PY" -m pytest -m "$MARKERS" tests "$@"
