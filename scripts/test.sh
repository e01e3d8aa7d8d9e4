#!/usr/bin/env bash
# The README's second command, and all that .ci/run does: install everything
# (system packages, npm packages, the native build, the test servers), start the
# test servers on 127.0.0.1, run the whole test suite, stop the servers.
#
#   scripts/test.sh                 everything
#   scripts/test.sh test/capture    vitest filters are passed through
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install.sh --test
log() { printf '[test] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# shellcheck source=lib/node.sh
source scripts/lib/node.sh
use_node
npm run --silent typecheck
npm run --silent lint:deps
npm run --silent lint
npm run --silent format:check

services_started=0
cleanup() {
  if (( services_started )); then scripts/test-services.sh stop >/dev/null 2>&1 || true; fi
  # Namespaces and links a killed test run may have left behind.
  for ns in $(ip netns list 2>/dev/null | awk '/^pcapd-t-/ {print $1}'); do ip netns del "$ns" 2>/dev/null || true; done
}
trap cleanup EXIT

scripts/test-services.sh start
services_started=1
set -a
# shellcheck disable=SC1091
source "${PCAPD_SVC_ROOT:-/var/tmp/pcapd-test-services}/env"
set +a

npx vitest run "$@"
