#!/usr/bin/env bash
# Kotlin tests on the JVM against the host-built native library, through JNA.
# Installs what is missing into caches outside the repository (kotlinc from npm's kotlin-compiler,
# JNA and JUnit 4 from Debian), generates the bindings, compiles, runs, and ends with
# "kotlin: N passed, N failed". `android/test-jvm.sh bench` runs the gate benchmark instead.
# KMER_CONSENT_LIB_DIR names the directory of libkmer_consent.so (default: target/debug).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

KOTLIN_VERSION=2.4.20
source tests/install.sh
cache="$kmer_cache"
kotlin_home="$cache/kotlin-compiler-$KOTLIN_VERSION"
mkdir -p "$cache"

if [ ! -x "$kotlin_home/bin/kotlinc" ]; then
  echo "installing kotlinc $KOTLIN_VERSION into $kotlin_home" >&2
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "kotlin-compiler@$KOTLIN_VERSION" >/dev/null)
  mkdir -p "$tmp/unpacked"
  tar xzf "$tmp"/kotlin-compiler-*.tgz -C "$tmp/unpacked"
  chmod +x "$tmp/unpacked/package/bin/"*
  rm -rf "$kotlin_home"
  mv "$tmp/unpacked/package" "$kotlin_home"
  rm -rf "$tmp"
fi

java_dir=/usr/share/java
if [ ! -f "$java_dir/jna.jar" ] || [ ! -f "$java_dir/junit4.jar" ] || [ ! -f "$java_dir/hamcrest-core.jar" ]; then
  apt_ensure "JNA and JUnit for the Kotlin tests" libjna-java junit4
fi

bindings/generate.sh kotlin-jvm >/dev/null

lib="$kotlin_home/lib"
classpath="$java_dir/jna.jar:$java_dir/junit4.jar:$java_dir/hamcrest-core.jar"
classpath="$classpath:$lib/kotlinx-coroutines-core-jvm.jar:$lib/kotlin-test.jar:$lib/kotlin-test-junit.jar"

sources=(bindings/generated/kotlin-jvm android/src/main/kotlin android/src/test/stubs android/src/test/kotlin)
java_tests=android/src/test/java
out="target/kotlin-jvm"
classes="$out/classes"
# Recompile only when a source changed: kotlinc takes most of this script's time.
stamp="$( (find "${sources[@]}" "$java_tests" -type f \( -name '*.kt' -o -name '*.java' \) | sort | xargs sha256sum; echo "$KOTLIN_VERSION") | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$out/stamp" 2>/dev/null)" != "$stamp" ]; then
  rm -rf "$classes"
  mkdir -p "$classes"
  echo "compiling Kotlin ($(find "${sources[@]}" -name '*.kt' | wc -l) files)" >&2
  # The generated file may warn (unused variables, deprecations): only errors fail the build.
  "$kotlin_home/bin/kotlinc" -jvm-target 17 -nowarn -classpath "$classpath" -d "$classes" "${sources[@]}"
  # Java tests: the API as Java apps call it (@JvmStatic, @JvmOverloads, lambdas).
  find "$java_tests" -name '*.java' -print0 | xargs -0 javac -nowarn --release 17 -d "$classes" \
    -cp "$classes:$lib/kotlin-stdlib.jar:$classpath"
  echo "$stamp" > "$out/stamp"
fi

tests=()
while IFS= read -r file; do
  package="$(sed -n 's/^package \([A-Za-z0-9_.]*\);\{0,1\}$/\1/p' "$file" | head -n 1)"
  name="$(basename "$file")"
  tests+=("$package.${name%.*}")
done < <(find android/src/test/kotlin "$java_tests" \( -name '*Test.kt' -o -name '*Test.java' \) | sort)

lib_dir="${KMER_CONSENT_LIB_DIR:-$root/target/debug}"
run=(java -Djna.library.path="$lib_dir" -cp "$classes:$lib/kotlin-stdlib.jar:$classpath")
if [ "${1:-}" = bench ]; then
  exec "${run[@]}" com.kmeroccase.consent.bench.GateBenchKt
fi
exec "${run[@]}" com.kmeroccase.consent.testing.JvmTestRunnerKt "${tests[@]}"
