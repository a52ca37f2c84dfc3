#!/usr/bin/env bash
# `swift test` for the Swift package (Package.swift at the root, sources in ios/), against the
# host-built native library.
# Where `swift` is on the PATH (a Mac, a Swift image) it is used directly. Otherwise (this project's
# Debian 12 CI) Debian trixie's swiftlang 6.0.3 runs in a debootstrap chroot cached outside the
# repository (about 3 GB, built once in about a minute), with the repository bind-mounted into it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

bindings/generate.sh swift >/dev/null

swift_args=(test --disable-swift-testing --scratch-path "$root/target/swift-build")
# Then the README's Swift code (ios/ReadmeApp), built as an app consumes the package: by path, from a
# folder beside a clone named KmerConsent (SwiftPM names a package after its folder, not its manifest).
readme_app="$root/target/readme-app"
mkdir -p "$readme_app"
ln -sfn "$root" "$readme_app/KmerConsent"
# A copy: SwiftPM follows a link to the app's folder, and ../KmerConsent would then not be there.
rm -rf "$readme_app/App"
cp -R ios/ReadmeApp "$readme_app/App"
readme_args=(test --disable-swift-testing --package-path "$readme_app/App"
  --scratch-path "$root/target/swift-build-readme")
# `ios/test-linux.sh bench`: the gate benchmark, optimised, against KMER_CONSENT_LIB_DIR (the package
# default is target/debug).
if [ "${1:-}" = bench ]; then
  swift_args=(run -c release --scratch-path "$root/target/swift-build-release" KmerConsentBench)
  readme_args=()
fi

# The package manifest is the repository root's Package.swift.
if command -v swift >/dev/null 2>&1; then
  swift "${swift_args[@]}"
  [ ${#readme_args[@]} -eq 0 ] || swift "${readme_args[@]}"
  exit
fi

source tests/install.sh
cache="$kmer_cache"
chroot_dir="$cache/swift-6.0.3-trixie"
mirror="${KMER_DEBIAN_MIRROR:-$(sed -n 's/^URIs: *\(http[^ ]*debian\)\/*$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)}"
mirror="${mirror:-http://deb.debian.org/debian}"

if [ ! -x "$chroot_dir/usr/libexec/swift/bin/swift" ]; then
  if ! command -v debootstrap >/dev/null 2>&1; then
    apt_ensure "to build the Swift chroot" debootstrap
  fi
  echo "building the Swift chroot (Debian trixie, swiftlang) in $chroot_dir" >&2
  mkdir -p "$cache"
  rm -rf "$chroot_dir.tmp"
  debootstrap --variant=minbase --include=swiftlang,libc6-dev,libstdc++-14-dev \
    trixie "$chroot_dir.tmp" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
    { tail -n 20 "$cache/debootstrap.log" >&2; exit 1; }
  mv "$chroot_dir.tmp" "$chroot_dir"
fi

# The repository appears at the same path inside the chroot, so the package's absolute library path
# (and the rpath baked into the test binary) is valid on both sides.
inside="$chroot_dir$root"
mounted=()
cleanup() {
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
mount_once() { # mount_once TARGET mount-args...
  local target="$1"
  shift
  mkdir -p "$target"
  if ! mountpoint -q "$target"; then
    mount "$@" "$target"
    mounted+=("$target")
  fi
}
mount_once "$chroot_dir/proc" -t proc proc
mount_once "$chroot_dir/dev" --bind /dev
mount_once "$inside" --bind "$root"

cd_and_test="cd '$root' && HOME=/root swift ${swift_args[*]}"
[ ${#readme_args[@]} -eq 0 ] || cd_and_test="$cd_and_test && HOME=/root swift ${readme_args[*]}"
passed_env=()
for name in KMER_CONSENT_LIB_DIR KMER_BENCH_QUICK; do
  [ -n "${!name:-}" ] && passed_env+=("$name=${!name}")
done
chroot "$chroot_dir" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root "${passed_env[@]}" /bin/bash -c "$cd_and_test"
