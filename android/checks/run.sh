#!/usr/bin/env bash
# What the Android library must be before it ships, checked here without the Android SDK:
#   1. the Gradle files take every version from android/gradle/libs.versions.toml, which these checks
#      and android/test-jvm.sh resolve from Maven Central;
#   2. its sources (the Kotlin API and the bindings generated with android = true) compile against
#      the real Android framework at the target API level (android-all, AOSP built as a jar);
#   3. nothing above minSdk is called unguarded (ApiLevelCheck.java, against the minSdk framework jar);
#   4. an app shrunk and obfuscated by ProGuard with only the SDK's consumer rules still works against
#      the native library (JNA and UniFFI find their classes by reflection).
# Ends with "android: N passed, N failed".
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
source tests/install.sh

v() { catalog_version "$1"; }
set -e
kotlin_home="$(kotlin_compiler "$(v kotlin)")"
aar_libs="$(maven_classpath "net.java.dev.jna:jna:$(v jna)" "org.jetbrains.kotlinx:kotlinx-coroutines-core-jvm:$(v coroutines)" \
  "androidx.annotation:annotation-jvm:$(v androidx-annotation)" | without_kotlin)"
android_target="$(maven_classpath "org.robolectric:android-all:$(v android-all-target)")"
android_min="$(maven_classpath "org.robolectric:android-all:$(v android-all-min)")"
asm="$(maven_classpath org.ow2.asm:asm:9.8)"
proguard="$(maven_classpath "com.guardsquare:proguard-base:$(v proguard)")"
jdk="$(jdk_home 21)"
# ProGuard reads the Java platform from a JDK's jmods (JDK 24 and later ship none).
jdk_jmods="$(jdk_home 17 jmods)"
set +e
bindings/generate.sh kotlin-android >/dev/null
bindings/generate.sh kotlin-jvm >/dev/null

passed=0
failed=0
check() {
  local name="$1"
  shift
  if "$@"; then
    echo "test android::$name ... ok"
    passed=$((passed + 1))
  else
    echo "test android::$name ... FAILED"
    failed=$((failed + 1))
  fi
}

catalog_only() {
  # A version written into a Gradle file would drift from what the scripts here build and test with.
  local found
  found="$(grep -nE 'version *\(? *"|"[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+:[0-9][^"]*"|(compileSdk|minSdk|targetSdk) *= *[0-9]' \
    android/build.gradle.kts android/settings.gradle.kts)"
  [ -z "$found" ] || { echo "versions outside android/gradle/libs.versions.toml:"; echo "$found"; return 1; }
}
check "the Gradle build takes every version from the catalog the scripts read" catalog_only

out="$root/target/android-checks"
mkdir -p "$out"
# Recompiles only when a source or a version changed (kotlinc is most of this suite's time).
compiled() {
  local classes="$1" stamp="$2"
  shift 2
  if [ "$(cat "$classes.stamp" 2>/dev/null)" = "$stamp" ]; then return 0; fi
  rm -rf "$classes" "$classes.stamp" && mkdir -p "$classes"
  "$@" && echo "$stamp" >"$classes.stamp"
}
sources_stamp() { (find "$@" -type f -name '*.kt' | sort | xargs sha256sum; cat android/gradle/libs.versions.toml) | sha256sum | cut -c1-16; }

compile_at_target() {
  # -Werror: a deprecation at the target level is a finding, in our sources and the generated ones.
  compiled "$out/aar-classes" "$(sources_stamp bindings/generated/kotlin-android android/src/main/kotlin)" \
    "$kotlin_home/bin/kotlinc" -jvm-target 17 -Werror -classpath "$android_target:$aar_libs" \
    -d "$out/aar-classes" bindings/generated/kotlin-android android/src/main/kotlin
}
check "compiles against the Android framework at compileSdk $(v compileSdk)" compile_at_target

api_level() {
  [ -f "$out/aar-classes.stamp" ] || return 1 # not compiled: nothing to check
  "$jdk/bin/java" -cp "$asm" android/checks/ApiLevelCheck.java "$(v minSdk)" "$android_min" "$out/aar-classes"
}
check "calls nothing above minSdk $(v minSdk) without checking SDK_INT" api_level

shrunk_app() {
  local app="$out/shrunk-app" lib="$kotlin_home/lib"
  compiled "$app/classes" "$(sources_stamp bindings/generated/kotlin-jvm android/src/main/kotlin/com/kmeroccase/consent/*.kt android/checks/shrunk-app)" \
    "$kotlin_home/bin/kotlinc" -jvm-target 17 -nowarn -classpath "$aar_libs" -d "$app/classes" \
    bindings/generated/kotlin-jvm android/src/main/kotlin/com/kmeroccase/consent/KmerConsent.kt \
    android/src/main/kotlin/com/kmeroccase/consent/Signals.kt android/checks/shrunk-app || return 1
  # What R8 does for an APK: the app, the SDK and every library in one program, library rules taken
  # from the jars' META-INF/proguard/ (coroutines ships its own), the SDK's consumer rules, and only
  # the app's entry point kept by the app itself. The JDK stands in for the Android framework.
  rm -rf "$app/rules" "$app/shrunk.jar" && mkdir -p "$app/rules"
  local jar
  for jar in $(echo "$aar_libs" | tr ':' ' ') "$lib/kotlin-stdlib.jar"; do
    unzip -qq -o "$jar" 'META-INF/proguard/*' -d "$app/rules/$(basename "$jar")" 2>/dev/null
  done
  {
    echo "-injars $app/classes"
    for jar in $(echo "$aar_libs" | tr ':' ' ') "$lib/kotlin-stdlib.jar"; do echo "-injars $jar(!META-INF/versions/**,!module-info.class)"; done
    echo "-outjars $app/shrunk.jar"
    echo "-libraryjars $jdk_jmods/jmods/java.base.jmod(!**.jar;!module-info.class)"
    echo "-libraryjars $jdk_jmods/jmods/java.logging.jmod(!**.jar;!module-info.class)"
    echo "-keep class com.example.shrunk.ShrunkAppKt { public static void main(java.lang.String[]); }"
    echo "-include $root/android/consumer-rules.pro"
    find "$app/rules" -name '*.pro' | sort | sed 's/^/-include /'
    # The app's own choices, as an app's proguard-rules.pro would make them: what the JVM lacks of
    # Android (and Android of the JVM) is not this test's subject.
    echo "-dontwarn kotlinx.coroutines.**"
    echo "-dontwarn org.jetbrains.annotations.**"
    echo "-dontnote"
    # ProGuard's parameter-type specialization (R8 has no such pass) yields a VerifyError in
    # kotlinx.coroutines here; what the keep rules protect (shrinking, obfuscation) is unaffected.
    echo "-optimizations !method/specialization/*"
    echo "-printmapping $app/mapping.txt"
  } >"$app/proguard.pro"
  "$jdk_jmods/bin/java" -cp "$proguard" proguard.ProGuard "@$app/proguard.pro" >"$app/proguard.log" 2>&1 ||
    { tail -20 "$app/proguard.log"; return 1; }
  # Shrunk: the SDK's own classes kept, the rest reduced (prove it really ran).
  local before after
  before="$(echo "$aar_libs" | tr ':' '\n' | xargs -I{} unzip -Z1 {} | grep -c '\.class$')"
  after="$(unzip -Z1 "$app/shrunk.jar" | grep -c '\.class$')"
  echo "ProGuard: $after classes of $before and the app's, mapping in $app/mapping.txt"
  local data
  data="$(mktemp -d)"
  "$jdk_jmods/bin/java" -Djna.library.path="${KMER_CONSENT_LIB_DIR:-$root/target/debug}" \
    -cp "$app/shrunk.jar" com.example.shrunk.ShrunkAppKt "$data" policies/kmeroccase.json
  local status=$?
  rm -rf "$data"
  return $status
}
check "an app shrunk by ProGuard with the consumer rules still works" shrunk_app

echo "android: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
