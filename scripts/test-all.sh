#!/usr/bin/env bash
# The whole test suite, as `make test` runs it (after `make setup browser hub`), on three engines:
#
#   1. the default engine: its three-sizes table, then every test (unit, real builds, the lessons
#      through nbval live and recorded, a real browser, four learners through a real JupyterHub);
#   then two lanes at once:
#   2. Docker 26 with the containerd image store (scripts/test-engine.sh docker26 containerd), then
#   3. Docker 26 with its classic store, overlay2 (every variant's sizes, and the kit's held to the recording);
#   4. Podman (scripts/test-engine.sh podman), as root, then
#   5. rootless Podman (scripts/test-engine.sh podman-rootless: running containers, sizes and clean).
#
# Every part runs, whatever the one before it did. At the end, one summary says how each part ended,
# with pytest's own result line and the name of every failed test: a CI log that keeps only its last
# lines still says what failed, and where. Exit code: 0 when every part passed, 1 otherwise.
#
# Each part has a time limit (KIT_PART_MINUTES_*): 28 minutes, then 34 and 10 in one lane, 25 and 10 in the
# other, 72 at most; 1.3 to 3 times what each takes here (run 32, 2026-12-01: 21.6, then 25.6 and 3.4 beside
# 18.3 and 7.0; 53.9 minutes in all with set-up) (the default engine's includes the hub
# test, tests/test_hub.py: 2-3 minutes). A part past its limit gets Ctrl-C (SIGINT), so pytest and the
# engine scripts clean up as for a learner's Ctrl-C, and is reported as over its time: the whole run stays
# within CI's 90 minutes and always ends with its summary. (A Podman log stream that never ended once hung a
# part until CI killed the run.) Output is unbuffered, so a CI log cut anywhere shows the last test that ran.
set -uo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
LOGS=$(mktemp -d "${TMPDIR:-/tmp}/kit-test.XXXXXX")
export PYTHONUNBUFFERED=1
declare -a PARTS=() BESIDE=()

part() {  # part NAME MINUTES COMMAND...: run it within MINUTES, its output shown and kept in $LOGS/NAME.log
  local name=$1 minutes=$2 start=$SECONDS
  shift 2
  echo "== make test: $name (at $(date -u +%H:%M:%S) UTC; its limit: $minutes min)"
  # -k: if Ctrl-C has not ended it 90 s later, SIGKILL. Lines of a part that runs beside another carry its name.
  timeout --signal=INT --kill-after=90 "$((minutes * 60))" "$@" 2>&1 | tee "$LOGS/$name.log" | sed -u "${PREFIX:-}"
  echo "${PIPESTATUS[0]} $((SECONDS - start)) $minutes" > "$LOGS/$name.result"
  [ -n "${PREFIX:-}" ] || PARTS+=("$name")
}

default_engine() {
  echo "the default engine: Docker $(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '(no answer)')"
  "$PY" -m helpers sizes | sed -n '/^Three sizes/,$p' || return 1
  KIT_REQUIRE_ENGINE=1 "$PY" -m pytest
}

export -f default_engine; export PY
part default-engine "${KIT_PART_MINUTES_DEFAULT:-28}" bash -c default_engine
# Then two lanes at once, each two parts one after the other: Docker 26 (containerd store, then overlay2) in
# the background, its lines carrying each part's name, and Podman (as root, then rootless) here. What one lane
# waits on (an engine coming up, packages, bases loaded, containers stopping) overlaps the other's builds.
# The bases' bundle both load is made first (scripts/bases-bundle.sh). Each big part prints its sizes table
# before its tests, which then find every variant cached (left out in run 31 it saved nothing).
# Run at once before (runs 30 and 31, 2026-12-01), Podman's `go build`, which Podman finishes after a Ctrl-C
# whatever the client does, outlasted the kit's 15-s wait on the busy machine: a build the learner stops now
# waits for that step (builders.PODMAN_STEP_WAIT).
PY=$PY bash scripts/bases-bundle.sh >/dev/null
PARTS+=(docker26-containerd docker26-overlay2)
(
  PREFIX="s/^/[docker26-containerd] /" part docker26-containerd "${KIT_PART_MINUTES_DOCKER26:-34}" \
    bash scripts/test-engine.sh docker26 containerd
  # Docker 26 on its classic store (overlay2): its sizes table, and the kit's figures held to the recording's.
  PREFIX="s/^/[docker26-overlay2] /" part docker26-overlay2 "${KIT_PART_MINUTES_OVERLAY2:-10}" \
    bash scripts/test-engine.sh docker26 overlay2 -k test_engine_sizes
) &
BESIDE+=("$!")
part podman "${KIT_PART_MINUTES_PODMAN:-25}" bash scripts/test-engine.sh podman
# Rootless Podman, a learner's own engine on a shared host: what differs there is the network (slirp4netns),
# so the tests that run containers and reach the app, the sizes and clean. (Its whole suite passes too, in
# about 9 minutes: `bash scripts/test-engine.sh podman-rootless`.)
part podman-rootless "${KIT_PART_MINUTES_ROOTLESS:-10}" env KIT_SKIP_SIZES=1 \
  bash scripts/test-engine.sh podman-rootless -k "test_run or test_engine_sizes or test_clean"
wait "${BESIDE[@]}"

echo
echo "== make test: summary (logs in $LOGS)"
rc=0
for name in "${PARTS[@]}"; do
  # No result file: the part itself was killed before it could write one (the lane's shell, or the run).
  read -r code taken limit < "$LOGS/$name.result" 2>/dev/null || { code=none taken=0 limit='?'; }
  case $code in
    0) verdict=passed ;;
    none) verdict="DID NOT FINISH"; rc=1 ;;
    124|137) verdict="OVER ITS $limit MIN"; rc=1 ;;
    *) verdict="FAILED (exit $code)"; rc=1 ;;
  esac
  printf '%-22s %-18s %5d s   %s\n' "$name" "$verdict" "$taken" \
    "$(grep -E '^=+ .*(passed|failed|error).* in [0-9.]+s' "$LOGS/$name.log" | tail -1 | tr -d '=' | xargs)"
  grep -E '^(FAILED|ERROR) |^LEFTOVERS|Timeout \(>|KeyboardInterrupt|^test-(engine|podman)( \([a-z ]+\))?: .*(did not|failed|could not|not ready|no bundle)' \
    "$LOGS/$name.log" | sed 's/^/    /'
done
exit $rc
