#!/usr/bin/env bash
# Fuzzes the parsers that take untrusted input, each for SECONDS (default 60):
#   policy      Policy::parse             (the app's policy JSON)
#   tc_string   TcModel::decode + re-encode round trip
#   receipt     verify_receipt(_with_key) (what import_receipt checks first), and edits of a
#               genuine countersigned receipt: one that still verifies must mean the same
#   acknowledgement  Witness::parse + verify (what acknowledge_signed checks), and edits of a
#               genuine acknowledgement
# Uses cargo-fuzz (libFuzzer) with the machine's stable toolchain (RUSTC_BOOTSTRAP=1 unlocks the
# sanitizer flags). A crash leaves its input in fuzz/artifacts/<target>/; add it to the target's
# regression test before fixing. Usage: fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(policy tc_string receipt acknowledgement)

command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked

for target in "${targets[@]}"; do
  mkdir -p "corpus/$target"
  RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -print_final_stats=1 2>"$target.log" || {
      tail -n 30 "$target.log" >&2
      echo "$target: CRASH (input in fuzz/artifacts/$target/)" >&2
      exit 1
    }
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$target.log" | tail -n 1)
  echo "$target: $runs runs in $seconds s, no crash"
done
