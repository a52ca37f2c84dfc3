#!/usr/bin/env bash
# Our TC strings against IAB Tech Lab's reference library (npm @iabtechlabtcf/core, pinned), installed
# into a cache outside the repository. The GVL fixture is shared/reference/tcf/vendor-list-v3.json.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

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

cargo build --quiet -p kmer-consent-cli
IABTCF_MODULES="$cache/node_modules" KMER_GVL="$gvl" node tests/iabtcf/crosscheck.cjs
