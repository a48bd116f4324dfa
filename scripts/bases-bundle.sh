#!/usr/bin/env bash
# Print the path of a bundle of the default engine's bases, for another engine's test run to load;
# write it first (with the kit's own `bundle save`, a read of the default engine) when the cache has
# none for exactly these images.
#
#   bundle=$(PY=.venv/bin/python bash scripts/bases-bundle.sh)
#
# The bundle is cached as $KIT_ENGINES_CACHE/kit-bases-<key>.tar (default /var/cache/kit-engines), the
# key made of the bases' references and image ids: one file for every engine's run, and a new one
# (the old removed) whenever the default engine's bases change. Says on stderr what it did and how long
# it took. Exit code 1, with one message, when the default engine lacks a base or does not answer.
set -uo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
CACHE=${KIT_ENGINES_CACHE:-/var/cache/kit-engines}
say() { echo "bases-bundle: $*" >&2; }

# The default engine's bases, as "ref id" lines (read-only there): the cache key.
lines=$(env -u DOCKER_HOST -u DOCKER_CONFIG "$PY" - <<'PYEOF'
import sys
from helpers import engine
from helpers.bases import BaseState, status
from helpers.errors import KitError
try:
    c = engine.client()
    for s in sorted(status(), key=lambda s: s.key):
        if s.image and s.state in (BaseState.OFFICIAL, BaseState.LOCAL):
            print(s.image, c.images.get(s.image).id)
except KitError as exc:
    sys.exit(f"bases-bundle: the default engine does not answer ({exc.what}): run `make setup` first")
PYEOF
) || exit 1
if [ "$(echo "$lines" | grep -c .)" -lt 5 ]; then
  say "the default engine has not every base (found: ${lines:-none}); run \`python -m helpers images\` first."
  exit 1
fi
bundle=$CACHE/kit-bases-$(echo "$lines" | sha256sum | cut -c1-12).tar
if [ -s "$bundle" ]; then
  say "from the cache: $bundle"
else
  mkdir -p "$CACHE"
  rm -f "$CACHE"/kit-bases-*.tar "$CACHE"/kit-bases-*.part "$CACHE"/bases-*.tar  # older bundles (and the old name)
  start=$SECONDS
  env -u DOCKER_HOST -u DOCKER_CONFIG "$PY" -m helpers bundle save "$bundle.$$.part" >&2 \
    && mv "$bundle.$$.part" "$bundle" || { rm -f "$bundle.$$.part"; say "bundle save failed (above)"; exit 1; }
  say "saved $bundle in $((SECONDS - start)) s"
fi
echo "$bundle"
