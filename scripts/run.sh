#!/usr/bin/env bash
# The README's first command: install everything pcapd needs and run it in the
# foreground on its embedded default config (HTTP API on 127.0.0.1:8347, captures
# written under /var/lib/pcapd/captures). No broker needed. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
exec bin/pcapd -config "${PCAPD_CONFIG:-config.example.toml}" "$@"
