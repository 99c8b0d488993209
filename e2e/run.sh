#!/usr/bin/env bash
# Runs the browser tests: node --test e2e/ (see e2e/README.md).
#
# Meant to run inside a loopback-only network namespace, after scripts/install-e2e-deps has
# installed everything (nothing is downloaded from here on):
#
#   unshare -n -- bash -c 'ip link set lo up && e2e/run.sh'
#
# Called as root outside such a namespace, it enters one itself. Extra arguments go to node
# (e.g. --test-name-pattern=reconnects).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

if ip -o link show 2>/dev/null | grep -qv ': lo:'; then
  if [ "$(id -u)" = 0 ] && [ -z "${E2E_NETNS:-}" ] && unshare -n true 2>/dev/null; then
    echo "== e2e: entering a loopback-only network namespace"
    exec unshare -n -- env E2E_NETNS=1 bash -c 'ip link set lo up && exec "$0" "$@"' "$0" "$@"
  fi
  echo "e2e/run.sh: warning: not in a loopback-only network namespace" >&2
fi

missing=()
[ -d e2e/node_modules/playwright-core ] || missing+=("e2e/node_modules")
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing+=("${CHROMIUM_PATH:-/usr/bin/chromium}")
[ -f examples/videoroom/static/app.js ] || missing+=("examples/videoroom/static/app.js")
if [ ${#missing[@]} -gt 0 ]; then
  echo "e2e/run.sh: missing ${missing[*]}: run scripts/install-e2e-deps first" >&2
  exit 1
fi

echo "== e2e: node --test e2e/"
exec node --test --test-reporter=spec "$@" e2e/
