# Sourced by the test and benchmark scripts: where the project's tools are cached, and the two ways it
# installs what a fresh machine lacks. Nothing here runs on its own.
#
#   kmer_cache                 the cache directory outside the repository (KMER_CONSENT_CACHE, else
#                              $XDG_CACHE_HOME/kmer-consent, else ~/.cache/kmer-consent)
#   apt_ensure WHY PKG...      installs Debian packages (apt-get update only if the first try fails);
#                              the caller has checked that something is missing
#   npm_cached NAME VERSION    installs a pinned npm package into the cache if it is not there, and
#                              prints its node_modules directory

kmer_cache="${KMER_CONSENT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kmer-consent}"

apt_ensure() {
  local why="$1"
  shift
  echo "installing $* from Debian ($why)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }
}

npm_cached() {
  local name="$1" version="$2" slug
  slug="${name#@}"
  local dir="$kmer_cache/${slug//\//-}-$version"
  if [ ! -f "$dir/node_modules/$name/package.json" ]; then
    echo "installing $name $version into $dir" >&2
    mkdir -p "$dir"
    npm install --silent --no-audit --no-fund --prefix "$dir" "$name@$version" >/dev/null
  fi
  echo "$dir/node_modules"
}

#   catalog_version NAME       a version from android/gradle/libs.versions.toml (the Gradle version
#                              catalog), so that the scripts build with what the AAR declares
#   maven_classpath COORD...   resolves Maven artifacts (group:artifact:version[:type]) and their
#                              dependencies from Maven Central into a local repository in the cache,
#                              and prints the classpath (':'-separated jar paths); resolved once, then
#                              read from the cache; an Android library (.aar) contributes its classes.jar

catalog_version() {
  local value
  value="$(sed -n "s/^$1 = \"\\(.*\\)\"\$/\\1/p" "$(dirname "${BASH_SOURCE[0]}")/../android/gradle/libs.versions.toml")"
  [ -n "$value" ] || { echo "no version '$1' in android/gradle/libs.versions.toml" >&2; return 1; }
  echo "$value"
}

maven_classpath() {
  local key dir file
  key="$(printf '%s\n' "$@" | sha256sum | cut -c1-16)"
  dir="$kmer_cache/maven"
  file="$dir/classpath-$key"
  if [ -f "$file" ] && tr ':' '\n' <"$file" | while read -r jar; do [ -f "$jar" ] || exit 1; done; then
    cat "$file"
    return
  fi
  echo "resolving $* from Maven Central into $dir/repository" >&2
  command -v mvn >/dev/null 2>&1 || apt_ensure "Maven, to fetch the JVM artifacts" maven || return 1
  mkdir -p "$dir"
  local tmp coord parts
  tmp="$(mktemp -d)"
  {
    echo '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
    echo '<groupId>local.kmer-consent</groupId><artifactId>resolve</artifactId><version>0</version>'
    echo '<dependencies>'
    for coord in "$@"; do
      IFS=: read -r -a parts <<<"$coord"
      echo "<dependency><groupId>${parts[0]}</groupId><artifactId>${parts[1]}</artifactId>"
      echo "<version>${parts[2]}</version><type>${parts[3]:-jar}</type></dependency>"
    done
    echo '</dependencies></project>'
  } >"$tmp/pom.xml"
  if ! mvn -B -Dstyle.color=never -f "$tmp/pom.xml" -Dmaven.repo.local="$dir/repository" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath \
    -Dmdep.outputFile="$tmp/classpath" >"$tmp/log" 2>&1; then
    grep -E 'ERROR|FAIL' "$tmp/log" >&2
    rm -rf "$tmp"
    return 1
  fi
  # An Android library (.aar) is a zip around its classes.jar: put that on the classpath, as Gradle does.
  local jar out=()
  IFS=: read -r -a parts <"$tmp/classpath"
  for jar in "${parts[@]}"; do
    if [ "${jar%.aar}" != "$jar" ]; then
      unzip -p "$jar" classes.jar >"$tmp/classes.jar" && mv "$tmp/classes.jar" "${jar%.aar}-classes.jar" ||
        { rm -rf "$tmp"; return 1; }
      jar="${jar%.aar}-classes.jar"
    fi
    out+=("$jar")
  done
  # Written whole, then renamed: a concurrent run reads the old list or the new one.
  (IFS=:; echo -n "${out[*]}") >"$tmp/list" && mv "$tmp/list" "$file"
  rm -rf "$tmp"
  cat "$file"
}

#   jdk_home MIN [jmods]       prints the home of a JDK of at least version MIN (and, with "jmods", one
#                              that ships jmods/, which JDK 24 and later do not): KMER_JDK_HOME, else
#                              the machine's default java, else the others in /usr/lib/jvm

jdk_home() {
  local min="$1" need="${2:-}" home version
  for home in "${KMER_JDK_HOME:-}" "$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")" \
    /usr/lib/jvm/*/; do
    [ -n "$home" ] && [ -x "$home/bin/javac" ] || continue
    [ "$need" != jmods ] || [ -f "$home/jmods/java.base.jmod" ] || continue
    version="$("$home/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
    if [ "${version%%.*}" -ge "$min" ] 2>/dev/null; then
      echo "${home%/}"
      return
    fi
  done
  echo "no JDK $min or newer${need:+ with $need} in /usr/lib/jvm (set KMER_JDK_HOME)" >&2
  return 1
}

#   without_kotlin             filters a classpath on stdin: Kotlin's own artifacts (kotlin-stdlib,
#                              which libraries bring at their own versions) come from the compiler's
#                              distribution instead, of the version it compiles with

without_kotlin() { tr ':' '\n' | grep -v '/org/jetbrains/kotlin/' | paste -sd: -; }

#   kotlin_compiler VERSION    installs kotlinc (npm's kotlin-compiler, the full distribution) into the
#                              cache if it is not there, and prints its home

kotlin_compiler() {
  local version="$1" home tmp
  home="$kmer_cache/kotlin-compiler-$version"
  if [ ! -x "$home/bin/kotlinc" ]; then
    echo "installing kotlinc $version into $home" >&2
    tmp="$(mktemp -d)"
    # Each step checked: this runs inside $(…), where set -e does not reach.
    (cd "$tmp" && npm pack --silent "kotlin-compiler@$version" >/dev/null) &&
      mkdir -p "$tmp/unpacked" "$kmer_cache" &&
      tar xzf "$tmp"/kotlin-compiler-*.tgz -C "$tmp/unpacked" &&
      chmod +x "$tmp/unpacked/package/bin/"* &&
      rm -rf "$home" &&
      mv "$tmp/unpacked/package" "$home" ||
      { echo "installing kotlinc $version failed" >&2; rm -rf "$tmp"; return 1; }
    rm -rf "$tmp"
  fi
  echo "$home"
}
