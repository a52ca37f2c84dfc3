#!/usr/bin/env bash
# Builds the kmer-consent library and writes its bindings from it (UniFFI library mode).
#
#   bindings/generate.sh kotlin-jvm       → bindings/generated/kotlin-jvm      (JVM tests: android = false)
#   bindings/generate.sh kotlin-android   → bindings/generated/kotlin-android  (the AAR: android = true)
#   bindings/generate.sh swift            → bindings/generated/swift, copied into the Swift package
#                                            (ios/Sources/KmerConsentFFI/KmerConsentFFI.h,
#                                            ios/Sources/KmerConsent/Generated; the module map beside
#                                            the header is committed and only compared)
#
# Both Kotlin targets are then rewritten by bindings/kotlin_postprocess.py, which makes a cold start
# register less with JNA (see that file). The JVM test build (KMER_PROFILE_DIR unset or debug) also
# runs UniFFI's checksum checks at load, which UniFFI's Kotlin generates but never calls; the AAR
# (kotlin-android, uniffi.toml's omit_checksums) and the release JVM build the benchmark measures do
# not, as their library is built beside them.
#
# Generated code is build output: bindings/generated/ is gitignored.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

target="${1:?usage: bindings/generate.sh kotlin-jvm|kotlin-android|swift}"
profile_dir="${KMER_PROFILE_DIR:-debug}"
lib="target/$profile_dir/libkmer_consent.so"
[ "$(uname -s)" = Darwin ] && lib="target/$profile_dir/libkmer_consent.dylib"

if [ "$profile_dir" = release ]; then
  cargo build --quiet --release -p kmer-consent --lib
else
  cargo build --quiet -p kmer-consent --lib
fi
cargo build --quiet -p kmer-consent-bindgen

out="bindings/generated/$target"
rm -rf "$out"
case "$target" in
  kotlin-jvm)
    target/debug/uniffi-bindgen generate --library "$lib" --language kotlin --no-format \
      --config bindings/jvm.toml --out-dir "$out"
    checks=(--checks)
    [ "$profile_dir" = release ] && checks=()
    python3 bindings/kotlin_postprocess.py "$out/com/kmeroccase/consent/kmer_consent.kt" "${checks[@]}" ;;
  kotlin-android)
    target/debug/uniffi-bindgen generate --library "$lib" --language kotlin --no-format \
      --out-dir "$out"
    python3 bindings/kotlin_postprocess.py "$out/com/kmeroccase/consent/kmer_consent.kt" ;;
  swift)
    target/debug/uniffi-bindgen generate --library "$lib" --language swift --no-format \
      --out-dir "$out"
    cp "$out/KmerConsentFFI.h" ios/Sources/KmerConsentFFI/KmerConsentFFI.h
    # The module map is committed (SwiftPM needs it to load the package before this step has run):
    # a UniFFI that writes another one must be seen, not silently copied.
    # (UniFFI ends the file without a newline; the committed copy has one.)
    if ! sed -e '$a\' "$out/KmerConsentFFI.modulemap" | cmp -s - ios/Sources/KmerConsentFFI/module.modulemap; then
      echo "ios/Sources/KmerConsentFFI/module.modulemap differs from the one UniFFI generated" \
        "($out/KmerConsentFFI.modulemap): update the committed file" >&2
      exit 1
    fi
    mkdir -p ios/Sources/KmerConsent/Generated
    cp "$out/KmerConsent.swift" ios/Sources/KmerConsent/Generated/KmerConsent.swift ;;
  *)
    echo "unknown target: $target" >&2
    exit 2 ;;
esac
echo "$out"
