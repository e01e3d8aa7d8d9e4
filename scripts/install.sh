#!/usr/bin/env bash
# Installs what pcapd needs on Debian 12 and builds it.
#
#   scripts/install.sh          runtime: libpcap, a C++ toolchain, tcpdump, iproute2; npm ci (builds the addon); tsc
#   scripts/install.sh --test   also what the test suite needs: tshark, tcpreplay, daemonize, systemd-analyze
#
# Needs Node.js >= 20.18.1 with npm already installed (Debian 12 ships only 18).
# Idempotent: apt runs only for missing packages, npm ci only when package-lock.json changed.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[install] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# shellcheck source=lib/apt.sh
source scripts/lib/apt.sh

RUNTIME_PACKAGES=(libpcap-dev build-essential python3 tcpdump iproute2 ca-certificates)
# tshark/capinfos read captures back independently; tcpreplay injects traffic; daemonize and
# systemd (systemd-analyze) check the service wrappers; iputils-ping for ad-hoc traffic.
TEST_PACKAGES=(tshark tcpreplay daemonize systemd iputils-ping util-linux)

check_node() {
  command -v node >/dev/null || die "Node.js >= 20.18.1 is required (not found on PATH)"
  node -e '
    const [major, minor] = process.versions.node.split(".").map(Number);
    if (major < 20 || (major === 20 && minor < 18)) { console.error("Node.js " + process.version + " is too old: pcapd needs >= 20.18.1"); process.exit(1); }
  ' || die "upgrade Node.js"
}

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
  hash=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$hash" && -f src/capture/native/build/Release/pcapd_native.node ]]; then
    log "npm packages up to date"
  else
    log "npm ci (builds the native capture addon)"
    npm ci --no-audit --no-fund
    echo "$hash" >"$stamp"
  fi
}

main() {
  check_node
  install_packages "${1:-}"
  install_npm
  log "compiling TypeScript"
  npm run --silent build:ts
  log "done: $(bin/pcapd version)"
}

main "$@"
