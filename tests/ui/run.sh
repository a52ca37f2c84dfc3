#!/usr/bin/env bash
# The consent page in two real browser engines, the same test cases in each (tests/ui/browser.cjs):
# - Chromium (Android's WebView engine): Debian's chromium driven by playwright-core (npm, pinned);
# - WebKit (iOS's WKWebView engine): WebKitGTK's MiniBrowser driven by WebKitWebDriver with plain W3C
#   WebDriver HTTP calls, on an Xvfb display started here on a free display number and killed at exit.
# Renders the page with the kmer-consent CLI, clicks every path (and keys it), feeds the message the
# page posts back to the CLI and checks what was recorded; checks keyboard use, 320 px and 200 % text,
# contrast, the CSP, that no request leaves, and audits both layers with axe-core (npm, pinned; WCAG
# 2.1 A and AA) in French and English, light and dark. What each engine observes, and how, is said
# in tests/ui/chromium.cjs and tests/ui/webkit.cjs.
# Installed when missing: chromium, webkit2gtk-driver (with libwebkit2gtk-4.1-0, which has
# MiniBrowser) and xvfb from Debian; playwright-core and axe-core into a cache outside the repository.
# KMER_UI_ENGINES=chromium or =webkit runs one engine only. Ends with "ui: N passed, N failed" (both
# engines together; the line before it gives each engine's count and time).
# KMER_UPDATE_SCREENSHOTS=1 also copies Chromium's screenshots into docs/screenshots/.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

source tests/install.sh
engines="${KMER_UI_ENGINES:-chromium,webkit}"
modules="$(npm_cached playwright-core 1.65.1)"
axe="$(npm_cached axe-core 4.14.1)"
chromium="${KMER_CHROMIUM:-/usr/bin/chromium}"
minibrowser="${KMER_MINIBROWSER:-/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser}"
if [[ ",$engines," == *,chromium,* ]]; then
  [ -x "$chromium" ] || apt_ensure "for the browser tests" chromium
fi
if [[ ",$engines," == *,webkit,* ]]; then
  missing=()
  command -v WebKitWebDriver >/dev/null || missing+=(webkit2gtk-driver)
  [ -x "$minibrowser" ] || missing+=(libwebkit2gtk-4.1-0)
  command -v Xvfb >/dev/null || missing+=(xvfb)
  [ "${#missing[@]}" -eq 0 ] || apt_ensure "for the browser tests in WebKit" "${missing[@]}"
fi

cargo build --quiet -p kmer-consent-cli

xvfb_pid=""
scratch="$(mktemp -d)"
cleanup() {
  [ -z "$xvfb_pid" ] || kill "$xvfb_pid" 2>/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT
if [[ ",$engines," == *,webkit,* ]]; then
  # -displayfd: Xvfb picks a free display number itself and writes it once it accepts clients.
  Xvfb -displayfd 3 -nolisten tcp -screen 0 1280x1024x24 3>"$scratch/display" 2>"$scratch/xvfb.log" &
  xvfb_pid=$!
  for _ in $(seq 100); do
    [ -s "$scratch/display" ] && break
    kill -0 "$xvfb_pid" 2>/dev/null || { cat "$scratch/xvfb.log" >&2; exit 1; }
    sleep 0.05
  done
  [ -s "$scratch/display" ] || { echo "Xvfb did not start" >&2; exit 1; }
  export DISPLAY=":$(tr -d '\n' <"$scratch/display")"
fi

# Not exec: the trap above must still stop Xvfb.
PLAYWRIGHT_MODULES="$modules" AXE_MODULES="$axe" KMER_CHROMIUM="$chromium" KMER_MINIBROWSER="$minibrowser" \
  KMER_UI_ENGINES="$engines" node tests/ui/browser.cjs
