#!/usr/bin/env bash
# Builds ios/KmerConsentFFI.xcframework for release: the Rust core as a static library for iOS
# devices and the simulator (arm64 + x86_64), with the generated header and module map. Once it
# exists, the root Package.swift uses it as a binary target instead of linking target/debug.
#
# Needs a Mac with Xcode and `rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios`.
# It cannot run on the project's Linux CI; see README "What is verified here".
#
# SQLite: bundled by default. KMER_CONSENT_SYSTEM_SQLITE=1 links Apple's libsqlite3 instead (about 1 MB
# less per architecture), which rusqlite 0.43 accepts only from SQLite 3.44 (sqlite3_set_clientdata):
# check the deployment target's SQLite before turning it on.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

features=()
if [ "${KMER_CONSENT_SYSTEM_SQLITE:-0}" = 1 ]; then
  features=(--no-default-features)
fi

for target in aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios; do
  cargo build --release -p kmer-consent --lib --target "$target" "${features[@]}"
done

# The header and module map, from the host build of the same sources.
bindings/generate.sh swift >/dev/null
out="target/xcframework"
rm -rf "$out" ios/KmerConsentFFI.xcframework
mkdir -p "$out/headers" "$out/simulator"
cp ios/Sources/KmerConsentFFI/KmerConsentFFI.h "$out/headers/"
cp ios/Sources/KmerConsentFFI/module.modulemap "$out/headers/module.modulemap"

lipo -create \
  target/aarch64-apple-ios-sim/release/libkmer_consent.a \
  target/x86_64-apple-ios/release/libkmer_consent.a \
  -output "$out/simulator/libkmer_consent.a"

xcodebuild -create-xcframework \
  -library target/aarch64-apple-ios/release/libkmer_consent.a -headers "$out/headers" \
  -library "$out/simulator/libkmer_consent.a" -headers "$out/headers" \
  -output ios/KmerConsentFFI.xcframework
echo ios/KmerConsentFFI.xcframework
