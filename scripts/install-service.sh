#!/usr/bin/env bash
# Installs pcapd as a systemd service: builds it (scripts/install.sh), copies it to
# /opt/pcapd, creates the unprivileged `pcapd` user, writes /etc/pcapd/config.toml
# from config.example.toml if there is none, installs pcapd.service and starts it.
#
#   scripts/install-service.sh            install and start
#   scripts/install-service.sh --no-start install only (e.g. in an image build)
set -euo pipefail
cd "$(dirname "$0")/.."

PREFIX=/opt/pcapd
UNIT=/etc/systemd/system/pcapd.service

scripts/install.sh

id -u pcapd >/dev/null 2>&1 || useradd --system --home-dir /var/lib/pcapd --shell /usr/sbin/nologin pcapd
install -d -m 0755 "$PREFIX"
# The runtime tree only: compiled JS, the built addon, production node_modules.
tar --exclude=./node_modules/.cache --exclude=./test --exclude=./bench --exclude=./.git -cf - \
  bin dist node_modules package.json config.example.toml README.md src/capture/native/build/Release/pcapd_native.node \
  | tar -xf - -C "$PREFIX"
install -d -m 0750 -o root -g pcapd /etc/pcapd
if [[ ! -f /etc/pcapd/config.toml ]]; then
  install -m 0640 -o root -g pcapd config.example.toml /etc/pcapd/config.toml
fi
install -d -m 0750 -o pcapd -g pcapd /var/lib/pcapd /var/lib/pcapd/captures
install -m 0644 scripts/systemd/pcapd.service "$UNIT"
"$PREFIX/bin/pcapd" check-config /etc/pcapd/config.toml >/dev/null

if [[ "${1:-}" != --no-start ]]; then
  systemctl daemon-reload
  systemctl enable --now pcapd
  systemctl --no-pager status pcapd
fi
