#!/usr/bin/env bash
# Installs IAB Tech Lab's reference library (npm @iabtechlabtcf/core, pinned) into a cache outside the
# repository if it is missing, checks the GVL fixture (shared/reference/tcf/vendor-list-v3.json), and
# prints two lines for `eval`: IABTCF_MODULES=… and KMER_GVL=…. Used by tests/iabtcf/run.sh and
# benches/run.sh.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"

source "$root/tests/install.sh"
modules="$(npm_cached @iabtechlabtcf/core 1.5.21)"

gvl="${KMER_GVL:-$root/../shared/reference/tcf/vendor-list-v3.json}"
if [ ! -f "$gvl" ]; then
  echo "the GVL fixture is missing: $gvl (set KMER_GVL)" >&2
  exit 1
fi
printf 'IABTCF_MODULES=%q\nKMER_GVL=%q\n' "$modules" "$gvl"
