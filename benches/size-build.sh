#!/usr/bin/env bash
# The release library built for size: the same crate, profile and features as `cargo build --release`,
# with a Rust standard library compiled for size instead of the prebuilt one. `make size-build` runs it;
# `make bench` reports its size beside the normal build's.
#
#   benches/size-build.sh                      builds it (bundled SQLite), prints the library's path
#   benches/size-build.sh --no-default-features  the same with the system SQLite (the iOS case)
#   benches/size-build.sh --test               runs the Rust test suite and the CLI scenarios
#                                              (cargo test, core and CLI) with the same standard
#                                              library and flags, in the dev profile (not LTO), then
#                                              the Kotlin suite against the release library it builds
#                                              (bundled SQLite only: the tests need SQLite >= 3.44,
#                                              which a system SQLite here may not be)
#
# What differs from the normal build, and why each holds up (docs/performance.md, "The release build
# for size", has the figures and the recipe for a nightly toolchain with rust-src):
#   -Z build-std=std,panic_unwind   the standard library compiled with our profile (opt-level z, LTO)
#                                   from its source, so the options below reach it too
#   -Z build-std-features=panic-unwind,optimize_for_size
#                                   the features replace std's defaults, leaving out `backtrace`: no
#                                   symbolising backtrace printer (gimli, addr2line, miniz_oxide);
#                                   `optimize_for_size` picks std's smaller variants of sorting and
#                                   other internals; `panic-unwind` (a default) is named again
#   -Z location-detail=none         panics do not carry file, line and column (a panic still has its
#                                   message, and UniFFI still turns it into an error)
#   -z pack-relative-relocs         relative relocations packed into a bitmap (DT_RELR, with the
#                                   GLIBC_ABI_DT_RELR version glibc 2.36+ asks of such a file), by
#                                   Debian's GNU ld; Android and Apple platforms pack theirs their own
#                                   way (docs/performance.md)
# Kept as they are: panics unwind (UniFFI turns one into an error, the gate does not open, the app
# keeps running; see docs/performance.md), and `{:?}` keeps formatting (-Z fmt-debug=none would empty the
# quoted ids and values in our error messages).
#
# The toolchain is Debian 12's second Rust (rustc-web, cargo-web, rust-web-src 1.96, in /usr/bin), which
# ships the standard library's source that -Z build-std compiles; RUSTC_BOOTSTRAP=1 lets a stable
# compiler take -Z options, as a nightly one would without it. Those packages conflict with Debian's
# own rustc, cargo and rustup packages (not with a rustup installed in ~/.cargo). Linux x86_64 only.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
source tests/install.sh

mode=build
features=()
for arg in "$@"; do
  case "$arg" in
    --test) mode=test ;;
    --no-default-features) features=(--no-default-features) ;;
    *) echo "usage: benches/size-build.sh [--no-default-features] [--test]" >&2; exit 2 ;;
  esac
done
if [ "$mode" = test ] && [ ${#features[@]} -gt 0 ]; then
  echo "benches/size-build.sh: --test runs with the bundled SQLite only" >&2
  exit 2
fi

[ -d /usr/lib/rustlib/src/rust/library/std ] && [ -x /usr/bin/rustc ] && [ -x /usr/bin/cargo ] ||
  apt_ensure "for the release build for size" rustc-web cargo-web rust-web-src
# -Z build-std needs the standard library's source of the very compiler that builds it.
compiler="$(/usr/bin/rustc --version | cut -d' ' -f2)"
source_dir="$(readlink -f /usr/lib/rustlib/src/rust)"
[ "$(basename "$source_dir")" = "rustc-$compiler" ] || {
  echo "benches/size-build.sh: /usr/bin/rustc is $compiler but the standard library's source is" \
    "$source_dir; install rustc-web, cargo-web and rust-web-src of one version" >&2
  exit 1
}
triple=x86_64-unknown-linux-gnu
# Debian's cargo and compiler, for these commands only (the rest of a run keeps the caller's). A
# RUSTFLAGS in the environment would replace every [target] flag, ours and .cargo/config.toml's.
debian_cargo() {
  env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc \
    RUSTDOC=/usr/bin/rustdoc /usr/bin/cargo "$@"
}
# Joined by cargo with the [target] flags of .cargo/config.toml (they still apply).
flags='["-Zlocation-detail=none", "-Clink-arg=-Wl,-z,pack-relative-relocs"]'
std=(-Z build-std=std,panic_unwind -Z build-std-features=panic-unwind,optimize_for_size --target "$triple"
  --config "target.$triple.rustflags=$flags")

if [ "$mode" = test ]; then
  # Its own target directory: these flags rebuild everything, and must not evict the normal builds.
  # Libraries and integration tests of the core and the CLI (no doctests: cargo cannot run them
  # with -Z build-std); the CLI's tests run the CLI binary built here.
  CARGO_TARGET_DIR="$root/target/size-std-test" debian_cargo test "${std[@]}" "${features[@]}" \
    --lib --bins --tests
  # Then the library itself, the file that would ship: the Kotlin suite loads it through JNA in
  # place of the debug build (a file the dynamic loader refuses fails here, not in an app), with
  # bindings from the same sources and their checksums checked against it.
  lib="$(bash "$root/benches/size-build.sh")"
  lib_dir="$root/target/size-std/jvm"
  mkdir -p "$lib_dir"
  ln -sfn "$lib" "$lib_dir/libkmer_consent.so"
  cargo build --quiet -p kmer-consent-cli # the Kotlin tests' back end
  KMER_CONSENT_LIB_DIR="$lib_dir" bash android/test-jvm.sh
  exit
fi

# One target directory for both SQLites: the standard library is compiled once. Each build's library
# is copied out under its own name, as the next build replaces it.
dir="$root/target/size-std"
CARGO_TARGET_DIR="$dir" debian_cargo build --quiet --release -p kmer-consent --lib \
  "${std[@]}" "${features[@]}"
lib="$dir/libkmer_consent-bundled-sqlite.so"
[ ${#features[@]} -eq 0 ] || lib="$dir/libkmer_consent-system-sqlite.so"
cp "$dir/$triple/release/libkmer_consent.so" "$lib"
echo "$lib"
