#!/usr/bin/env bash
# Every test suite of the project, in order: the Rust core and CLI (cargo test), the Kotlin library
# on the JVM and its Android entry point on Robolectric, the Android library's build checks (API
# levels against the real framework, a ProGuard-shrunk app), the release build for size (the Rust
# and CLI tests built with its standard library and flags, the Kotlin suite on its library), the
# Swift package with `swift test` against the native library, our TC strings
# against IAB Tech Lab's reference library, and the consent page in Chromium and WebKit. Installs what
# a fresh machine lacks. Ends with one line adding up every suite: "N passed, N failed".
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
failed_suites=()

suite() {
  local name="$1"
  shift
  echo "== $name" | tee -a "$log"
  local started=$SECONDS
  "$@" 2>&1 | tee -a "$log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || failed_suites+=("$name")
  echo "== $name: $((SECONDS - started)) s"
}

suite "Rust (cargo test)" cargo test
suite "Kotlin on the JVM and Robolectric (android/test-jvm.sh)" bash android/test-jvm.sh
suite "Android library checks: API levels, ProGuard (android/checks/run.sh)" bash android/checks/run.sh
suite "The release build for size: Rust, the CLI, then Kotlin on its library (benches/size-build.sh --test)" \
  bash benches/size-build.sh --test
suite "Swift (ios/test-linux.sh)" bash ios/test-linux.sh
suite "IAB TCF cross-check with @iabtechlabtcf/core (tests/iabtcf/run.sh)" bash tests/iabtcf/run.sh
suite "Consent page in Chromium and WebKit (tests/ui/run.sh)" bash tests/ui/run.sh

# cargo prints "test result: ok. N passed; M failed; …" per binary; the Kotlin runner (once per JVM),
# the Android checks, the TCF cross-check and the browser tests "kotlin: N passed, M failed" /
# "android: …" / "iabtcf: …" / "ui: …"; XCTest
# "Executed N tests, with M failures" per suite level, the one after "Test Suite 'All tests'" for all
# the tests of one `swift test` (ios/test-linux.sh runs two: the package's and the README app's).
awk '
  /^test result:/ { passed += $4; failed += $6 }
  /^(kotlin|android|iabtcf|ui): [0-9]+ passed, [0-9]+ failed$/ { passed += $2; failed += $4 }
  /^Test Suite .All tests. (passed|failed)/ { all_tests = 1; next }
  all_tests && /Executed [0-9]+ tests?, with [0-9]+ failures?/ {
    for (i = 1; i <= NF; i++) { if ($i == "Executed") run = $(i + 1); if ($i == "with") bad = $(i + 1) }
    passed += run - bad; failed += bad; all_tests = 0
  }
  END { printf "%d passed, %d failed\n", passed, failed }
' "$log"
if [ ${#failed_suites[@]} -gt 0 ]; then
  echo "failed suites: ${failed_suites[*]}" >&2
  exit 1
fi
