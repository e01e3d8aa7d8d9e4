#!/usr/bin/env bash
# ElasticMQ 1.7.1 (an SQS-compatible server) on 127.0.0.1:9324 for pcapd's tests.
# Usage: elasticmq.sh install|start|stop|restart|status|env
# Queues live in memory only, so every start (and restart) begins with no queues.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

svc_init elasticmq
EMQ_VERSION=1.7.1
EMQ_HOME="$SVC_CACHE/elasticmq-$EMQ_VERSION"
EMQ_PORT=9324
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
SVC_ADDR="$SVC_HOST:$EMQ_PORT"
SVC_MATCH="org.elasticmq.server.Main"
SVC_STOP_TIMEOUT=15
SVC_RESTART_KEEPS_DATA=0

svc_installed() { [[ -f $EMQ_HOME/.complete ]]; }

svc_install() {
  ensure_apt_packages openjdk-17-jre-headless maven
  mvn_fetch_jars "$EMQ_HOME/libs" "org.elasticmq:elasticmq-server_2.13:$EMQ_VERSION"
  touch "$EMQ_HOME/.complete"
}

svc_ports() { echo "$EMQ_PORT"; }

write_config() {
  # Pitfall: the defaults bind 0.0.0.0 and put "localhost" into queue URLs (which may resolve
  # to ::1, where nothing listens). Pin both to 127.0.0.1.
  cat >"$SVC_RUN/elasticmq.conf" <<CONF
include classpath("application.conf")
node-address { protocol = "http", host = "$SVC_HOST", port = $EMQ_PORT, context-path = "" }
rest-sqs { enabled = true, bind-port = $EMQ_PORT, bind-hostname = "$SVC_HOST", sqs-limits = strict }
aws { region = "us-east-1", accountId = "000000000000" }
CONF
}

emq_ready() {
  grep -q 'ElasticMQ server .* started' "$SVC_RUN/elasticmq.log" 2>/dev/null ||
    http_answers "$SVC_HOST" "$EMQ_PORT"
}

svc_launch() {
  write_config
  # Small heap, serial GC and C1-only JIT: a light test server that starts in ~1 s on 2 cores.
  launch_bg "$SVC_RUN/elasticmq.log" "$SVC_PIDFILE" \
    "$JAVA" -Xms64m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -Dconfig.file="$SVC_RUN/elasticmq.conf" -cp "$EMQ_HOME/libs/*" org.elasticmq.server.Main
  wait_for 60 "$SVC_RUN/elasticmq.log" "$SVC_PIDFILE" emq_ready
}

svc_env() { echo "PCAPD_TEST_SQS_ENDPOINT=http://$SVC_ADDR"; }

svc_main "$@"
