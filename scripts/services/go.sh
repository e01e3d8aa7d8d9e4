# shellcheck shell=bash
# Sourced by service scripts that build a server from Go source (versitygw). Expects common.sh.
#
# versitygw needs a newer Go than Debian 12's golang-go (1.19). When the go on PATH is missing or
# too old, the pinned toolchain comes from the Go module proxy as the module `golang.org/toolchain`
# (what GOTOOLCHAIN downloads), fetched by Debian's own go, checked against the checksum database
# by `go mod download` and against the pinned hash below, and cached under $SVC_CACHE/go.

GO_MIN_VERSION=1.25
GO_PIN_VERSION=1.26.8
GO_PIN_MODULE="golang.org/toolchain@v0.0.1-go$GO_PIN_VERSION.linux-amd64"
# The module's go.sum hash ("h1:", the dirhash of its zip).
GO_PIN_SUM="h1:ZOmGe1OnfREDMIdb1Qi4G9JSuDPBLGExZMQ4nis1RXM="
GO_CACHED_ROOT="$SVC_CACHE/go"

# go_is_recent: true if the go on PATH runs and is at least GO_MIN_VERSION.
go_is_recent() {
  local v major minor want_major want_minor
  v=$(GOTOOLCHAIN=local go env GOVERSION 2>/dev/null) || return 1
  v=${v#go}
  IFS=. read -r major minor _ <<<"$v"
  IFS=. read -r want_major want_minor <<<"$GO_MIN_VERSION"
  [[ $major =~ ^[0-9]+$ && $minor =~ ^[0-9]+$ ]] || return 1
  (( major > want_major || (major == want_major && minor >= want_minor) ))
}

# use_go: put the cached toolchain first on PATH when there is one.
use_go() {
  if [[ -x $GO_CACHED_ROOT/bin/go ]]; then
    PATH="$GO_CACHED_ROOT/bin:$PATH"
    export PATH
  fi
  # Never let a go on PATH switch itself to another toolchain behind our back.
  export GOTOOLCHAIN=local
}

# ensure_go: after it, `go` on PATH is recent enough for versitygw.
ensure_go() {
  use_go
  go_is_recent && return 0
  install_go_toolchain
  use_go
  go_is_recent || die "the Go toolchain cached in $GO_CACHED_ROOT does not run"
}

install_go_toolchain() {
  log "installing Go $GO_PIN_VERSION into $GO_CACHED_ROOT from the Go module proxy (bootstrapped by Debian's golang-go)"
  ensure_apt_packages golang-go
  local tmp json dir sum
  tmp=$(mktemp -d)
  # Debian's go is only the downloader; its own module cache is left untouched.
  if ! json=$(cd "$tmp" && PATH="/usr/lib/go/bin:/usr/bin:$PATH" GOTOOLCHAIN=local GOFLAGS=-modcacherw \
      GOMODCACHE="$tmp/mod" /usr/bin/go mod download -json "$GO_PIN_MODULE" 2>"$tmp/download.log"); then
    cat "$tmp/download.log" >&2
    rm -rf -- "$tmp"
    die "go mod download $GO_PIN_MODULE failed"
  fi
  dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$json")
  sum=$(sed -n 's/^[[:space:]]*"Sum": "\(.*\)",$/\1/p' <<<"$json")
  [[ $sum == "$GO_PIN_SUM" ]] || { rm -rf -- "$tmp"; die "$GO_PIN_MODULE: hash $sum is not the pinned $GO_PIN_SUM"; }
  [[ -x $dir/bin/go || -f $dir/bin/go ]] || { rm -rf -- "$tmp"; die "$GO_PIN_MODULE holds no bin/go"; }
  rm -rf -- "$GO_CACHED_ROOT.new"
  mkdir -p "$(dirname "$GO_CACHED_ROOT")"
  cp -a -- "$dir" "$GO_CACHED_ROOT.new"
  # Module zips carry no file modes: the toolchain's programs need their execute bits back,
  # as the go command's own toolchain switch does.
  find "$GO_CACHED_ROOT.new/bin" "$GO_CACHED_ROOT.new/pkg/tool" -type f -exec chmod 0755 {} +
  rm -rf -- "$GO_CACHED_ROOT"
  mv -- "$GO_CACHED_ROOT.new" "$GO_CACHED_ROOT"
  rm -rf -- "$tmp"
}
