#!/usr/bin/env bash
# Make sure Chromium is installed for the real-browser test (Debian's package: /usr/bin/chromium).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "browser-up: Chromium is missing; install it (Debian: apt-get install chromium) for the browser test." >&2
  exit 1
fi
echo "browser-up: installing Debian's chromium"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
