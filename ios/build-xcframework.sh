#!/usr/bin/env bash
# Builds ios/KmerConsentFFI.xcframework for release: the Rust core as a static library for iOS
# devices and the simulator (arm64 + x86_64), with the generated header and module map and the
# privacy manifest in each slice. Once it exists, the root Package.swift uses it as a binary target
# instead of linking target/debug.
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

# Apple's privacy manifest (docs/app-stores.md), the file the Swift package ships as a resource of its
# KmerConsent target. A static library has no bundle of its own; Apple's documentation places a
# manifest at the root of a bundle's content, and for an iOS slice of a static-library XCFramework
# that is the slice's folder, beside the library (ios-arm64/, ios-arm64_x86_64-simulator/), as Apple's
# developer support has advised library authors. Not verified here (no Xcode). Through SwiftPM the
# package's resource bundle is the copy that reaches the app: SwiftPM does not carry a static
# XCFramework's files into it.
for slice in ios/KmerConsentFFI.xcframework/*/; do
  [ -f "$slice/libkmer_consent.a" ] || continue
  cp ios/Sources/KmerConsent/PrivacyInfo.xcprivacy "$slice"
done
[ "$(find ios/KmerConsentFFI.xcframework -name PrivacyInfo.xcprivacy | wc -l)" -eq 2 ] ||
  { echo "expected a privacy manifest in each of the 2 slices" >&2; exit 1; }
echo ios/KmerConsentFFI.xcframework
