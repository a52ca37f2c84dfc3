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
