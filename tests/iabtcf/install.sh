#!/usr/bin/env bash
# Installs IAB Tech Lab's reference library (npm @iabtechlabtcf/core, pinned) into a cache outside the
# repository if it is missing, checks the GVL fixture (shared/reference/tcf/vendor-list-v3.json), and
# prints two lines for `eval`: IABTCF_MODULES=… and KMER_GVL=…. Used by tests/iabtcf/run.sh and
# benches/run.sh.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"

IABTCF_VERSION=1.5.21
cache="${KMER_CONSENT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kmer-consent}/iabtcf-$IABTCF_VERSION"
if [ ! -f "$cache/node_modules/@iabtechlabtcf/core/package.json" ]; then
  echo "installing @iabtechlabtcf/core $IABTCF_VERSION into $cache" >&2
  mkdir -p "$cache"
  npm install --silent --no-audit --no-fund --prefix "$cache" "@iabtechlabtcf/core@$IABTCF_VERSION" >/dev/null
fi

gvl="${KMER_GVL:-$root/../shared/reference/tcf/vendor-list-v3.json}"
if [ ! -f "$gvl" ]; then
  echo "the GVL fixture is missing: $gvl (set KMER_GVL)" >&2
  exit 1
fi
printf 'IABTCF_MODULES=%q\nKMER_GVL=%q\n' "$cache/node_modules" "$gvl"
