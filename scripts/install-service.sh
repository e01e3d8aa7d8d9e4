#!/usr/bin/env bash
# Installs pcapd as a systemd service: builds it (scripts/install.sh), copies it to
# /opt/pcapd, creates the unprivileged `pcapd` user, writes /etc/pcapd/config.toml
# from config.example.toml if there is none, installs pcapd.service with a drop-in
# (pcapd.service.d/paths.conf) letting it write the directories the config names,
# and starts it. Rerun it after changing general.localdir or spool.dir.
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
  scripts/systemd/pcapd.service \
  | tar -xf - -C "$PREFIX"
install -d -m 0750 -o root -g pcapd /etc/pcapd
if [[ ! -f /etc/pcapd/config.toml ]]; then
  install -m 0640 -o root -g pcapd config.example.toml /etc/pcapd/config.toml
fi
install -d -m 0750 -o pcapd -g pcapd /var/lib/pcapd /var/lib/pcapd/captures
install -m 0644 scripts/systemd/pcapd.service "$UNIT"
"$PREFIX/bin/pcapd" check-config /etc/pcapd/config.toml >/dev/null

# The unit makes everything but /var/lib/pcapd read-only (ProtectSystem=strict). The
# directories this config writes (general.localdir, spool.dir), as pcapd itself reads
# the config: made for the pcapd user when missing, and allowed in a drop-in.
while IFS= read -r dir; do
  [[ -n "$dir" ]] || continue
  if [[ ! -d "$dir" ]]; then
    install -d -m 0750 -o pcapd -g pcapd "$dir"
  elif ! runuser -u pcapd -- test -w "$dir"; then
    echo "install-service: warning: $dir exists and the pcapd user cannot write it (chown pcapd: it, or choose another directory)" >&2
  fi
done < <("$PREFIX/bin/pcapd" check-config /etc/pcapd/config.toml --writable-paths)
install -d -m 0755 "$UNIT.d"
"$PREFIX/bin/pcapd" check-config /etc/pcapd/config.toml --systemd-dropin >"$UNIT.d/paths.conf.tmp"
mv "$UNIT.d/paths.conf.tmp" "$UNIT.d/paths.conf"
# Now with the drop-in: warns about what it cannot fix (a path in the unit's private /tmp).
"$PREFIX/bin/pcapd" check-config /etc/pcapd/config.toml >/dev/null

if [[ "${1:-}" != --no-start ]]; then
  systemctl daemon-reload
  systemctl enable --now pcapd
  systemctl --no-pager status pcapd
fi
