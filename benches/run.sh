#!/usr/bin/env bash
# Every benchmark of the project, ending with one table: each figure beside the baseline measured in
# the same run, the ratio, the target, and whether it is met. `make bench` runs it.
#
#   benches/run.sh               the full run (3.5 minutes here on 2 cores with the builds cached;
#                                a first size build adds a few)
#   benches/run.sh --quick       fewer rounds: proves every benchmark works (CI); the figures are rough
#   benches/run.sh --write-docs  also writes the table into docs/performance.md
#
# Benchmarks are not tests: nothing here fails on a slow figure. The table also lands in
# target/bench/table.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

quick=0
write_docs=0
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    --write-docs) write_docs=1 ;;
    *) echo "usage: benches/run.sh [--quick] [--write-docs]" >&2; exit 2 ;;
  esac
done
export KMER_BENCH_QUICK=$quick

out="$root/target/bench"
mkdir -p "$out"
rows="$out/rows.txt"
: >"$rows"
step() { echo "== $*" >&2; }
# Runs a benchmark: its output to the terminal (stderr), its summary rows into $rows.
collect() { "$@" | tee -a /dev/stderr | { grep '^row|' || true; } >>"$rows"; }

step "Rust gate, start-up and writes (cargo bench --bench gate)"
collect cargo bench --quiet --bench gate

step "Peak memory (cargo bench --bench memory, and the demo)"
collect cargo bench --quiet --bench memory
cargo build --quiet --release -p kmer-consent-cli
demo_kib="$(python3 - "$root/target/release/kmer-consent" <<'PY'
import resource, subprocess, sys
subprocess.run([sys.argv[1], "demo"], stdout=subprocess.DEVNULL, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
)"
awk -v k="$demo_kib" 'BEGIN { printf "row|Peak memory of `kmer-consent demo`|%.1f MiB|—|%.2f|| MiB\n", k / 1024, k / 1024 }' |
  tee -a /dev/stderr >>"$rows"

step "TC strings: our codec against @iabtechlabtcf/core on the same strings"
eval "export $(bash tests/iabtcf/install.sh | tr '\n' ' ')"
# Both on the same CPU: unpinned, a process now and then lands on a slower core of this VM for its
# whole run, which moves one side of the ratio by up to 1.8×.
cargo bench --quiet --bench tcf --no-run
pin=()
command -v taskset >/dev/null 2>&1 && pin=(taskset -c 0)
"${pin[@]}" node benches/tcf.cjs "$out/tc-strings.txt" | tee -a /dev/stderr >"$out/tcf-node.txt"
"${pin[@]}" cargo bench --quiet --bench tcf -- "$out/tc-strings.txt" | tee -a /dev/stderr >"$out/tcf-rust.txt"
figure() { sed -n "s/^$1 //p" "$2"; }
for op in decode encode; do
  node_ns="$(figure "node_${op}_ns" "$out/tcf-node.txt")"
  rust_ns="$(figure "rust_${op}_ns" "$out/tcf-rust.txt")"
  count="$(figure strings "$out/tcf-rust.txt")"
  awk -v op="$op" -v n="$node_ns" -v r="$rust_ns" -v c="$count" 'BEGIN {
    printf "row|TC string %s (%d strings)|%.1f µs|@iabtechlabtcf/core %.1f µs|%.2f|>=20|× faster\n", op, c, r / 1000, n / 1000, n / r
  }' | tee -a /dev/stderr >>"$rows"
done

step "The native library, release build (for Kotlin, Swift and the size)"
cargo build --quiet --release -p kmer-consent --lib
export KMER_CONSENT_LIB_DIR="$root/target/release"
# Bindings generated from the library they load (and no debug build just to generate them).
export KMER_PROFILE_DIR=release

step "Kotlin on the JVM (android/test-jvm.sh bench)"
collect bash android/test-jvm.sh bench

step "Swift (ios/test-linux.sh bench)"
collect bash ios/test-linux.sh bench

step "Size of the stripped x86_64 library"
# The system-SQLite build (the iOS case) links against libsqlite3 without bundling it; rusqlite 0.43
# needs SQLite >= 3.44 at run time, which this machine lacks, but building and measuring works.
source tests/install.sh
pkg-config --exists sqlite3 2>/dev/null || apt_ensure "for the system-SQLite build" libsqlite3-dev pkg-config
CARGO_TARGET_DIR="$root/target/size-system" cargo build --quiet --release -p kmer-consent --lib \
  --no-default-features
strip -o "$out/bundled.so" target/release/libkmer_consent.so
strip -o "$out/system.so" target/size-system/release/libkmer_consent.so

step "The release build for size (benches/size-build.sh), both SQLites"
sized_bundled="$(bash benches/size-build.sh)"
sized_system="$(bash benches/size-build.sh --no-default-features)"
strip -o "$out/sized-bundled.so" "$sized_bundled"
strip -o "$out/sized-system.so" "$sized_system"
python3 benches/size.py target/release/libkmer_consent.so "$out/bundled.so" "$out/system.so" \
  "$sized_bundled" "$out/sized-bundled.so" "$out/sized-system.so" >"$out/size.txt"
cat "$out/size.txt" >&2
grep '^row|' "$out/size.txt" >>"$rows"

KMER_BENCH_JDK="$(source tests/install.sh && jdk_home 21)" python3 benches/table.py "$rows" "$quick" >"$out/table.md"
echo
cat "$out/table.md"
if [ "$write_docs" = 1 ]; then
  KMER_BENCH_JDK="$(source tests/install.sh && jdk_home 21)" python3 benches/table.py "$rows" "$quick" --docs docs/performance.md "$out/size.txt"
  echo "docs/performance.md updated" >&2
fi
