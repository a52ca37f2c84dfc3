#!/usr/bin/env bash
# Our TC strings against IAB Tech Lab's reference library (npm @iabtechlabtcf/core, pinned), installed
# into a cache outside the repository by tests/iabtcf/install.sh.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

settings="$(bash tests/iabtcf/install.sh)"
eval "export $(echo "$settings" | tr '\n' ' ')"

cargo build --quiet -p kmer-consent-cli
node tests/iabtcf/crosscheck.cjs
