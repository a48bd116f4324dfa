#!/usr/bin/env bash
# The whole test suite, as `make test` runs it (after `make setup browser`), on three engines:
#
#   1. the default engine: its three-sizes table, then every test (unit, real builds, the lessons
#      through nbval live and recorded, a real browser);
#   2. Docker 26 with the containerd image store (scripts/test-engine.sh docker26 containerd);
#   3. Podman (scripts/test-engine.sh podman).
#
# Every part runs, whatever the one before it did. At the end, one summary says how each part ended,
# with pytest's own result line and the name of every failed test: a CI log that keeps only its last
# lines still says what failed, and where. Exit code: 0 when every part passed, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
LOGS=$(mktemp -d "${TMPDIR:-/tmp}/kit-test.XXXXXX")
declare -a PARTS=() CODES=() SECONDS_TAKEN=()

part() {  # part NAME COMMAND...: run it, its output shown and kept in $LOGS/NAME.log
  local name=$1 start=$SECONDS
  shift
  echo "== make test: $name"
  "$@" 2>&1 | tee "$LOGS/$name.log"
  CODES+=("${PIPESTATUS[0]}"); PARTS+=("$name"); SECONDS_TAKEN+=("$((SECONDS - start))")
}

default_engine() {
  echo "the default engine: Docker $(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '(no answer)')"
  "$PY" -m helpers sizes | sed -n '/^Three sizes/,$p' || return 1
  KIT_REQUIRE_ENGINE=1 "$PY" -m pytest
}

part default-engine default_engine
part docker26-containerd env PY="$PY" bash scripts/test-engine.sh docker26 containerd
part podman env PY="$PY" bash scripts/test-engine.sh podman

echo
echo "== make test: summary (logs in $LOGS)"
rc=0
for i in "${!PARTS[@]}"; do
  name=${PARTS[$i]} code=${CODES[$i]}
  [ "$code" = 0 ] && verdict=passed || { verdict="FAILED (exit $code)"; rc=1; }
  printf '%-22s %-18s %5d s   %s\n' "$name" "$verdict" "${SECONDS_TAKEN[$i]}" \
    "$(grep -E '^=+ .*(passed|failed|error).* in [0-9.]+s' "$LOGS/$name.log" | tail -1 | tr -d '=' | xargs)"
  grep -E '^(FAILED|ERROR) |^LEFTOVERS|^test-(engine|podman): .*(did not|failed|could not|not ready|no bundle)' \
    "$LOGS/$name.log" | sed 's/^/    /'
done
exit $rc
