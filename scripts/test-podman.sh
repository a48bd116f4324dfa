#!/usr/bin/env bash
# The engine-dependent tests against Podman, from nothing: bring Podman up, load the kit's bases into it,
# run the tests marked `docker` that can hold there, and take Podman down again whatever happened.
#
#   bash scripts/test-podman.sh [PYTEST ARGS...]      (as root, from the repository; `make test` has run setup)
#
# The bases come from the default engine, which `make setup` filled: `python -m helpers bundle save`
# (a read of that engine, nothing more), cached by scripts/bases-bundle.sh, then `bundle load` into Podman. Left out, besides the browser test and the tests that start engines
# of the machine's own dockerd (machine_engine): the tests marked docker_only (see pytest.ini), which
# cannot hold on Podman. Each part's time is printed at the end. The exit code is pytest's (or 1 if
# Podman could not be brought up or given its bases).
set -uo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
MARKERS="docker and not machine_engine and not browser and not docker_only"
declare -a TIMES=()

say() { echo "test-podman: $*" >&2; }
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
  timed "podman down" bash scripts/engine-podman.sh down || rc=1
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
  host=$(bash scripts/engine-podman.sh up) || return 1
  export "${host?}"   # DOCKER_HOST=unix:///run/kit-podman.sock
}
timed "podman up (install if missing)" up || exit 1

# The bases, as the default engine has them (scripts/bases-bundle.sh: the same cached bundle as Docker 26's).
bundle=$(PY=$PY bash scripts/bases-bundle.sh) || { say "no bundle of the bases can be made"; exit 1; }
timed "bundle load (podman)" "$PY" -m helpers bundle load "$bundle" >/dev/null || { say "bundle load failed"; exit 1; }
timed "doctor (podman)" "$PY" -m helpers doctor >&2 || { say "doctor is not ready on Podman"; exit 1; }

sizes() {  # every variant built on Podman, and its three sizes (the README's engine table)
  "$PY" -m helpers sizes > "${TMPDIR:-/tmp}/kit-sizes-podman.txt" 2>&1 || { cat "${TMPDIR:-/tmp}/kit-sizes-podman.txt"; return 1; }
  sed -n '/^Three sizes/,$p' "${TMPDIR:-/tmp}/kit-sizes-podman.txt"
}
timed "sizes (podman)" sizes || say "building every variant for the sizes table failed (above)"
say "pytest -m \"$MARKERS\" tests (DOCKER_HOST=$DOCKER_HOST)"
timed "pytest (podman)" env KIT_REQUIRE_ENGINE=1 "$PY" -m pytest -m "$MARKERS" tests "$@"
