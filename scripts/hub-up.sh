#!/usr/bin/env bash
# Make sure the hub test's proxy is installed: configurable-http-proxy, the proxy JupyterHub puts in front of
# the hub and the learners' servers, from the npm registry, pinned, into a cache outside the repository
# (KIT_HUB_CACHE, default /var/cache/kit-hub). Node.js and npm come from Debian's packages (as root), only
# when `node` is missing. JupyterHub itself is a Python package (requirements-dev.txt).
# Idempotent: a second run finds the pinned proxy in place and only prints where it is.
# configurable-http-proxy 5.3.0 declares Node >= 20; Debian 12's nodejs is 18.20: npm warns (EBADENGINE) and
# installs, and the proxy's routes API and proxying worked on Node 18.20.8 when tried by hand; the hub test
# itself has run on Node 20 only.
# Prints the path of the `configurable-http-proxy` it installed (scripts/hub/jupyterhub_config.py finds it there).
set -euo pipefail
CACHE=${KIT_HUB_CACHE:-/var/cache/kit-hub}
VERSION=5.3.0
BIN=$CACHE/node_modules/.bin/configurable-http-proxy

say() { echo "hub-up: $*" >&2; }

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    say "Node.js and npm are missing; install them (Debian: apt-get install nodejs npm) for the hub test."
    exit 1
  fi
  say "installing Debian's nodejs and npm"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

# The version npm wrote into the cache's package.json: anything but the pin installs again.
installed() {
  node -e "console.log(require('$CACHE/node_modules/configurable-http-proxy/package.json').version)" 2>/dev/null || true
}
if [ ! -x "$BIN" ] || [ "$(installed)" != "$VERSION" ]; then
  say "installing configurable-http-proxy@$VERSION into $CACHE"
  mkdir -p "$CACHE"
  # A package.json of the cache's own, so npm installs here and not into a parent folder's project.
  [ -f "$CACHE/package.json" ] || echo '{"name": "kit-hub", "private": true}' > "$CACHE/package.json"
  npm install --prefix "$CACHE" --no-audit --no-fund --loglevel=error --save-exact \
    "configurable-http-proxy@$VERSION" >&2
fi
"$BIN" --version >/dev/null  # fails here, not in the test, if the install is broken
echo "$BIN"
