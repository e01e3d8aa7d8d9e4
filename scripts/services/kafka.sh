#!/usr/bin/env bash
# Apache Kafka 4.4.0, single KRaft node (broker + controller in one JVM), for pcapd's tests.
# Usage: kafka.sh install|start|stop|restart|status|env
#   start   wipes the data dir and formats fresh storage: every test run starts empty.
#   restart stop + start WITHOUT wiping, so topics and committed offsets survive (tests use it
#           to simulate a broker outage).
# Jars come from Maven (no tarball downloads are possible here) and are cached in $SVC_CACHE.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

svc_init kafka
KAFKA_VERSION=4.4.0
LOG4J_VERSION=2.25.5
KAFKA_HOME="$SVC_CACHE/kafka-$KAFKA_VERSION"
KAFKA_PORT=19092
CONTROLLER_PORT=19093
# Fixed cluster id: the data dir is either wiped or reused by this same script, so a constant
# id is enough and keeps `restart` from ever meeting a mismatched meta.properties.
CLUSTER_ID=q1Sh-9_ISia_zwGINzRvyQ
DATA="$SVC_RUN/data"
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
SVC_ADDR="$SVC_HOST:$KAFKA_PORT"
SVC_MATCH="kafka.Kafka"
# A TERM makes the broker do a controlled shutdown and flush/close its logs; give it time so
# committed offsets are on disk for the next `restart`.
SVC_STOP_TIMEOUT=60
SVC_RESTART_KEEPS_DATA=1

svc_installed() { [[ -f $KAFKA_HOME/.complete ]]; }

svc_install() {
  ensure_apt_packages openjdk-17-jre-headless maven
  # Pitfall: the Maven pom of kafka_2.13 brings no SLF4J binding (the binary tarball ships one);
  # without log4j-slf4j-impl the broker logs nothing at all, and readiness is read from its log.
  mvn_fetch_jars "$KAFKA_HOME/libs" \
    "org.apache.kafka:kafka_2.13:$KAFKA_VERSION" \
    "org.apache.logging.log4j:log4j-slf4j-impl:$LOG4J_VERSION" \
    "org.apache.logging.log4j:log4j-core:$LOG4J_VERSION"
  touch "$KAFKA_HOME/.complete"
}

svc_ports() { echo "$KAFKA_PORT $CONTROLLER_PORT"; }

write_config() {
  cat >"$SVC_RUN/server.properties" <<PROPS
# Written by scripts/services/kafka.sh on every start: edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$SVC_HOST:$CONTROLLER_PORT
listeners=PLAINTEXT://$SVC_HOST:$KAFKA_PORT,CONTROLLER://$SVC_HOST:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$SVC_HOST:$KAFKA_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$DATA
auto.create.topics.enable=true
num.partitions=1
# One node: every replication factor / min ISR must be 1 or internal topics never get created.
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Few internal partitions: the first consumer-group join on a fresh cluster creates
# __consumer_offsets, and 50 partitions (the default) cost seconds on 2 cores.
offsets.topic.num.partitions=1
transaction.state.log.num.partitions=1
# Consumer groups join immediately instead of waiting 3 s for more members.
group.initial.rebalance.delay.ms=0
PROPS

  # Logs go to files under the run dir (the tarball's config is not in the Maven jars).
  cat >"$SVC_RUN/log4j2.properties" <<'PROPS'
status = warn
appender.server.type = File
appender.server.name = SERVER
appender.server.fileName = ${sys:kafka.logs.dir}/server.log
appender.server.layout.type = PatternLayout
appender.server.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.server.ref = SERVER
# Per-request logging is far too chatty for tests.
logger.request.name = kafka.request.logger
logger.request.level = WARN
PROPS
}

kafka_ready() { grep -q 'Kafka Server started' "$SVC_RUN/server.log" 2>/dev/null; }

svc_launch() {
  local keep=$1
  local java_opts=(-Djava.awt.headless=true -Dkafka.logs.dir="$SVC_RUN"
    -Dlog4j2.configurationFile="$SVC_RUN/log4j2.properties")
  # A data dir written by another Kafka version may refuse to load: drop it when the version changed.
  if (( keep )) && [[ -d $DATA && $(cat "$SVC_RUN/version" 2>/dev/null) != "$KAFKA_VERSION" ]]; then
    log "data dir is from another Kafka version; wiping it"
    rm -rf -- "$DATA"
  fi
  write_config
  echo "$KAFKA_VERSION" >"$SVC_RUN/version"
  # The broker appends to server.log; on restart the old "Kafka Server started" line would
  # make readiness succeed at once, so move the previous log aside first.
  if [[ -f $SVC_RUN/server.log ]]; then mv -f "$SVC_RUN/server.log" "$SVC_RUN/server.log.prev"; fi

  if [[ ! -f $DATA/meta.properties ]]; then
    # Short-lived tool: C1-only JIT and the serial GC cut its run from ~1.5 s to ~1.0 s.
    if ! "$JAVA" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC "${java_opts[@]}" \
        -cp "$KAFKA_HOME/libs/*" kafka.tools.StorageTool format \
        -t "$CLUSTER_ID" -c "$SVC_RUN/server.properties" --ignore-formatted \
        </dev/null >"$SVC_RUN/format.log" 2>&1; then
      show_log_tail "$SVC_RUN/format.log" "$SVC_RUN/server.log"
      return 1
    fi
    # The format run logged into server.log too; start the broker with an empty one.
    rm -f -- "$SVC_RUN/server.log"
  fi

  # -XX:TieredStopAtLevel=1 (C1 JIT only): measured here, it halves the CPU the broker burns
  # while starting (~9 -> ~4.5 CPU-s) and its ready time (~8 -> ~5 s alone on 2 cores, more when
  # the other servers start alongside); peak throughput is irrelevant at test loads.
  launch_bg "$SVC_RUN/stdout.log" "$SVC_PIDFILE" \
    "$JAVA" -Xms256m -Xmx768m -XX:TieredStopAtLevel=1 "${java_opts[@]}" -cp "$KAFKA_HOME/libs/*" \
    kafka.Kafka "$SVC_RUN/server.properties"
  # The PLAINTEXT port opens before the broker has registered with the controller; clients
  # connecting then get errors. "Kafka Server started" is logged once it can serve.
  wait_for 120 "$SVC_RUN/server.log" "$SVC_PIDFILE" kafka_ready || {
    show_log_tail "$SVC_RUN/stdout.log"
    return 1
  }
}

svc_env() { echo "PCAPD_TEST_KAFKA_BROKERS=$SVC_ADDR"; }

svc_main "$@"
