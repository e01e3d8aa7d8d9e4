#!/usr/bin/env bash
# Builds the native capture addon with AddressSanitizer + UndefinedBehaviorSanitizer
# into src/capture/native/build-asan/ (the normal build stays untouched) and runs
# the capture tests against it.
#
#   scripts/asan.sh build   # sanitized build only
#   scripts/asan.sh test    # build, then run test/capture/ under ASan
#
# Node itself is not sanitized, so the runtime is preloaded. Leak detection is
# off because V8 keeps memory alive until exit by design; use-after-free,
# overflows and undefined behaviour abort the run.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[asan] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# shellcheck source=lib/node.sh
source scripts/lib/node.sh
use_node

native=src/capture/native
out=$native/build-asan

build() {
  rm -rf "$out"
  mkdir -p "$out/src"
  cp "$native"/*.cc "$native"/*.h "$native"/binding.gyp "$out/src/"
  PCAPD_SANITIZE=1 npx --no-install node-gyp rebuild -C "$out/src" >"$out/build.log" 2>&1 || {
    tail -40 "$out/build.log"
    exit 1
  }
  cp "$out/src/build/Release/pcapd_native.node" "$out/pcapd_native.node"
  echo "asan: built $out/pcapd_native.node"
}

run_tests() {
  local runtime
  runtime="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
  PCAPD_NATIVE_ADDON="$PWD/$out/pcapd_native.node" \
    LD_PRELOAD="$runtime" \
    ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:detect_stack_use_after_return=0" \
    UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
    npx vitest run test/capture "$@"
}

case "${1:-test}" in
  build) build ;;
  test)
    shift || true
    build
    run_tests "$@"
    ;;
  *)
    echo "usage: $0 build|test" >&2
    exit 2
    ;;
esac
