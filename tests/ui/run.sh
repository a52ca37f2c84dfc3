#!/usr/bin/env bash
# The consent page in a real browser: Debian's chromium driven by playwright-core (npm, pinned),
# both installed when missing (chromium from Debian, playwright-core into a cache outside the
# repository), through the engine adapter tests/ui/chromium.cjs. Renders the page with the
# kmer-consent CLI, clicks every path, feeds the message the page posts back to the CLI and checks
# what was recorded. Ends with "ui: N passed, N failed".
# KMER_UPDATE_SCREENSHOTS=1 also copies the screenshots into docs/screenshots/.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

source tests/install.sh
modules="$(npm_cached playwright-core 1.65.1)"
chromium="${KMER_CHROMIUM:-/usr/bin/chromium}"
[ -x "$chromium" ] || apt_ensure "for the browser tests" chromium

cargo build --quiet -p kmer-consent-cli
PLAYWRIGHT_MODULES="$modules" KMER_CHROMIUM="$chromium" KMER_UI_ENGINES=chromium node tests/ui/browser.cjs
