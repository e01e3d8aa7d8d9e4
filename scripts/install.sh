#!/usr/bin/env bash
# Installs what pcapd needs on Debian 12 and builds it.
#
#   scripts/install.sh          runtime: Node.js (see lib/node.sh), libpcap, a C++ toolchain, tcpdump,
#                               iproute2, procps, curl, ping; npm ci (builds the addon); tsc
#   scripts/install.sh --test   also what the test suite needs: tshark, tcpreplay, daemonize, systemd-analyze, llc, faketime
#
# Node.js: the node on PATH when it is >= 20.18.1, else a pinned Node installed into
# /opt/pcapd/node from the npm registry (Debian 12 ships only 18).
# Idempotent: apt runs only for missing packages, npm ci only when package-lock.json changed.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[install] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# shellcheck source=lib/apt.sh
source scripts/lib/apt.sh
# shellcheck source=lib/node.sh
source scripts/lib/node.sh

# procps: the systemd unit reloads with /bin/kill. curl and iputils-ping: the README's first
# capture. python3 and build-essential: node-gyp builds the addon and re2.
RUNTIME_PACKAGES=(libpcap-dev build-essential python3 tcpdump iproute2 procps ca-certificates curl iputils-ping)
# tshark/capinfos read captures back independently; tcpreplay injects traffic; daemonize and
# systemd (systemd-analyze) check the service wrappers; util-linux for mount/flock; llvm (llc)
# builds the tc eBPF program that tags real TCP traffic with VLANs on a veth pair; clang-format
# checks the addon's formatting; faketime steps the wall clock under the daemon in the clock drill.
TEST_PACKAGES=(tshark tcpreplay daemonize systemd util-linux llvm clang-format faketime)

install_packages() {
  local packages=("${RUNTIME_PACKAGES[@]}")
  [[ "${1:-}" == --test ]] && packages+=("${TEST_PACKAGES[@]}")
  # tshark asks whether non-root users may capture; the answer is no, and never a prompt.
  if [[ " ${packages[*]} " == *" tshark "* ]]; then
    echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
  fi
  ensure_apt_packages "${packages[@]}"
}

install_npm() {
  local stamp=node_modules/.pcapd-lock-hash hash
  # The Node ABI is part of the stamp: re2 is not N-API, so a different Node major needs a rebuild.
  hash="$(sha256sum package-lock.json | cut -d' ' -f1) abi $(node -p process.versions.modules)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$hash" && -f src/capture/native/build/Release/pcapd_native.node ]]; then
    log "npm packages up to date"
  else
    log "npm ci (builds the native capture addon)"
    npm ci --no-audit --no-fund
    echo "$hash" >"$stamp"
  fi
}

main() {
  install_packages "${1:-}"
  ensure_node
  install_npm
  log "compiling TypeScript"
  npm run --silent build:ts
  log "done: $(bin/pcapd version)"
}

main "$@"
