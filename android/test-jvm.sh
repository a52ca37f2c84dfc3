#!/usr/bin/env bash
# Kotlin and Java tests on the JVM against the host-built native library, through JNA; the Android
# entry point's tests on the real Android framework through Robolectric.
# Installs what is missing into caches outside the repository (kotlinc from npm's kotlin-compiler;
# JNA, coroutines, JUnit, Robolectric and the Android framework jars from Maven Central, at the
# versions of android/gradle/libs.versions.toml), generates the bindings, compiles, runs, and ends with
# "kotlin: N passed, N failed". `android/test-jvm.sh bench` runs the benchmarks instead: the gate's
# cost, then a cold open in fresh JVMs against a bare JNA load of the same library.
# KMER_CONSENT_LIB_DIR names the directory of libkmer_consent.so (default: target/debug).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

source tests/install.sh
KOTLIN_VERSION="$(catalog_version kotlin)"
kotlin_home="$(kotlin_compiler "$KOTLIN_VERSION")"

v() { catalog_version "$1"; }
# The versions the AAR declares (android/gradle/libs.versions.toml), from Maven Central. Kotlin's own
# artifacts come from the compiler's distribution, of the version it compiles with.
libs="$(maven_classpath "net.java.dev.jna:jna:$(v jna)" "org.jetbrains.kotlinx:kotlinx-coroutines-core-jvm:$(v coroutines)" \
  "junit:junit:$(v junit)" "org.robolectric:robolectric:$(v robolectric)" | without_kotlin)"
# The real Android framework (AOSP as a jar) at the target API level: the Android sources and tests
# compile against it. Robolectric runs them on its instrumented build of the same release.
android_all="$(maven_classpath "org.robolectric:android-all:$(v android-all-target)")"
android_all_instrumented="$(maven_classpath "org.robolectric:android-all-instrumented:$(v android-all-instrumented)")"

# Java 21 class files (API 36's framework) need a JDK that reads them; the code still targets Java 17.
jdk="$(jdk_home 21)"

bindings/generate.sh kotlin-jvm >/dev/null

lib="$kotlin_home/lib"
classpath="$libs:$lib/kotlin-test.jar:$lib/kotlin-test-junit.jar"

sources=(bindings/generated/kotlin-jvm android/src/main/kotlin android/src/test/kotlin)
java_tests=android/src/test/java
out="target/kotlin-jvm"
classes="$out/classes"
# Recompile only when a source changed: kotlinc takes most of this script's time.
stamp="$( (find "${sources[@]}" "$java_tests" -type f \( -name '*.kt' -o -name '*.java' \) | sort | xargs sha256sum; echo "$KOTLIN_VERSION $jdk $classpath $android_all") | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$out/stamp" 2>/dev/null)" != "$stamp" ]; then
  rm -rf "$classes"
  mkdir -p "$classes"
  echo "compiling Kotlin ($(find "${sources[@]}" -name '*.kt' | wc -l) files)" >&2
  # The generated file may warn (unused variables, deprecations): only errors fail the build.
  "$kotlin_home/bin/kotlinc" -jvm-target 17 -nowarn -classpath "$android_all:$classpath" -d "$classes" "${sources[@]}"
  # Java tests: the API as Java apps call it (@JvmStatic, @JvmOverloads, lambdas).
  find "$java_tests" -name '*.java' -print0 | xargs -0 "$jdk/bin/javac" -nowarn --release 17 -d "$classes" \
    -cp "$classes:$lib/kotlin-stdlib.jar:$android_all:$classpath"
  echo "$stamp" > "$out/stamp"
fi

# Two JVMs: the Robolectric tests run in a sandbox class loader with its own copy of the bindings, and
# UniFFI registers its callback tables with the native library once per process, so a second copy in
# the same process would take over the first one's callbacks.
jvm_tests=()
android_tests=()
while IFS= read -r file; do
  package="$(sed -n 's/^package \([A-Za-z0-9_.]*\);\{0,1\}$/\1/p' "$file" | head -n 1)"
  name="$(basename "$file")"
  if grep -q '@RunWith(RobolectricTestRunner' "$file"; then
    android_tests+=("$package.${name%.*}")
  else
    jvm_tests+=("$package.${name%.*}")
  fi
done < <(find android/src/test/kotlin "$java_tests" \( -name '*Test.kt' -o -name '*Test.java' \) | sort)

lib_dir="${KMER_CONSENT_LIB_DIR:-$root/target/debug}"
run=("$jdk/bin/java" --enable-native-access=ALL-UNNAMED -Djna.library.path="$lib_dir" -cp "$classes:$lib/kotlin-stdlib.jar:$classpath")
if [ "${1:-}" = bench ]; then
  # The gate and FFI calls in one warmed JVM (GateBench), then the cold start (ColdStartBench:
  # KmerConsent.open in fresh JVMs against a bare JNA load of the same library).
  "${run[@]}" com.kmeroccase.consent.bench.GateBenchKt
  exec "${run[@]}" com.kmeroccase.consent.bench.ColdStartBenchKt
fi
status=0
"${run[@]}" com.kmeroccase.consent.testing.JvmTestRunnerKt "${jvm_tests[@]}" || status=1
# Robolectric reads its framework jar from the cache (offline: it never downloads at test time). The
# plain framework jar is on the classpath too, as android.jar is in a Gradle unit test: JUnit reads
# Robolectric's @Config (which names android.app.Application) before any sandbox exists.
"$jdk/bin/java" --enable-native-access=ALL-UNNAMED -Djna.library.path="$lib_dir" -Drobolectric.offline=true \
  -Drobolectric.dependency.dir="$(dirname "$android_all_instrumented")" -Drobolectric.logging.enabled=false \
  -cp "$classes:$lib/kotlin-stdlib.jar:$classpath:$android_all" \
  com.kmeroccase.consent.testing.JvmTestRunnerKt "${android_tests[@]}" || status=1
exit $status
