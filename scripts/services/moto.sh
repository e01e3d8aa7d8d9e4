#!/usr/bin/env bash
# moto server 5.2.5 (in-memory AWS mock: S3, SQS, ...) on 127.0.0.1:5000 for pcapd's tests.
# Used only where a test needs what versitygw lacks: ServerSideEncryption echoed back, ACL reads.
# Beware: moto accepts any credentials, so it cannot test auth failures.
# Usage: moto.sh install|start|stop|restart|status|env
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

svc_init moto
MOTO_VERSION=5.2.5
MOTO_HOME="$SVC_CACHE/moto-$MOTO_VERSION"
VENV="$MOTO_HOME/venv"
MOTO_PORT=5000
SVC_ADDR="$SVC_HOST:$MOTO_PORT"
SVC_MATCH="moto_server"
SVC_STOP_TIMEOUT=10
# All state is in memory: a restart always comes back empty.
SVC_RESTART_KEEPS_DATA=0

svc_installed() { [[ -x $VENV/bin/moto_server && -f $MOTO_HOME/.complete ]]; }

# Debian's python3 on purpose: a pyenv shim (present on these machines) may pick another
# interpreter per directory via .python-version, and the venv must not depend on that.
python_for_venv() {
  if [[ -x /usr/bin/python3 ]]; then echo /usr/bin/python3; else command -v python3; fi
}

svc_install() {
  ensure_apt_packages python3-venv
  rm -rf -- "$MOTO_HOME"
  mkdir -p "$MOTO_HOME"
  "$(python_for_venv)" -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-input "moto[server]==$MOTO_VERSION"
  # Written last: an interrupted pip install is redone from scratch next time.
  touch "$MOTO_HOME/.complete"
}

svc_ports() { echo "$MOTO_PORT"; }

moto_ready() { http_answers "$SVC_HOST" "$MOTO_PORT"; }

svc_launch() {
  launch_bg "$SVC_RUN/moto.log" "$SVC_PIDFILE" \
    "$VENV/bin/moto_server" -H "$SVC_HOST" -p "$MOTO_PORT"
  wait_for 30 "$SVC_RUN/moto.log" "$SVC_PIDFILE" moto_ready
}

svc_env() { echo "PCAPD_TEST_MOTO_ENDPOINT=http://$SVC_ADDR"; }

svc_main "$@"
