#!/usr/bin/env bash
# Redis for pcapd's integration tests: Debian's redis-server on 127.0.0.1:6390, no persistence.
# Usage: redis.sh install|start|stop|restart|status|env
# Port 6390, not 6379, so a developer's own Redis is never touched.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

svc_init redis
REDIS_PORT=6390
SVC_ADDR="$SVC_HOST:$REDIS_PORT"
# redis-server rewrites its process title to "/usr/bin/redis-server 127.0.0.1:6390".
SVC_MATCH="redis-server"
SVC_STOP_TIMEOUT=10
# Nothing worth keeping (no persistence): a restart is a plain stop + fresh start.
SVC_RESTART_KEEPS_DATA=0

svc_installed() { command -v redis-server >/dev/null && command -v redis-cli >/dev/null; }
# redis-cli comes from redis-tools, a dependency of redis-server. The package does not start a
# server by itself on these machines (no systemd), so nothing occupies 6379 afterwards.
svc_install() { ensure_apt_packages redis-server; }
svc_ports() { echo "$REDIS_PORT"; }

redis_ready() {
  pid_alive "$SVC_PIDFILE" "$SVC_MATCH" &&
    [[ $(redis-cli -h "$SVC_HOST" -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]
}

svc_launch() {
  mkdir -p "$SVC_RUN/data"
  # --daemonize yes: redis forks and writes its own pid file (after the fork, so wait_for gets
  # no pid file to watch: the readiness check itself looks at it). --save "" and
  # --appendonly no: no persistence, tests start empty.
  redis-server --bind "$SVC_HOST" --port "$REDIS_PORT" --daemonize yes \
    --dir "$SVC_RUN/data" --pidfile "$SVC_PIDFILE" --logfile "$SVC_RUN/redis.log" \
    --save "" --appendonly no </dev/null 9>&-
  wait_for 15 "$SVC_RUN/redis.log" "" redis_ready
}

svc_env() { echo "PCAPD_TEST_REDIS_URL=redis://$SVC_ADDR"; }

svc_main "$@"
