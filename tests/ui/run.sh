#!/usr/bin/env bash
# The consent page in a real browser: Debian's chromium driven by playwright-core (npm, pinned),
# both installed when missing (chromium from Debian, playwright-core into a cache outside the
# repository). Renders the page with the kmer-consent CLI, clicks every path, feeds the message the
# page posts back to the CLI and checks what was recorded. Ends with "ui: N passed, N failed".
# KMER_UPDATE_SCREENSHOTS=1 also copies the screenshots into docs/screenshots/.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

PLAYWRIGHT_VERSION=1.65.1
cache="${KMER_CONSENT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kmer-consent}/playwright-core-$PLAYWRIGHT_VERSION"
if [ ! -f "$cache/node_modules/playwright-core/package.json" ]; then
  echo "installing playwright-core $PLAYWRIGHT_VERSION into $cache" >&2
  mkdir -p "$cache"
  npm install --silent --no-audit --no-fund --prefix "$cache" "playwright-core@$PLAYWRIGHT_VERSION" >/dev/null
fi
chromium="${KMER_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  echo "installing chromium from Debian" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq chromium >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
fi

cargo build --quiet -p kmer-consent-cli
PLAYWRIGHT_MODULES="$cache/node_modules" KMER_CHROMIUM="$chromium" node tests/ui/browser.cjs
