#!/usr/bin/env bash
# Local servers for pcapd's integration tests (Redis, Kafka, ElasticMQ/SQS, versitygw/S3, moto).
#
#   scripts/test-services.sh install|start|stop|status|restart|env [service...]
#
# Services: redis kafka elasticmq versitygw moto (default: all; `restart` needs names).
# `start` installs whatever is missing first, starts the rest in parallel, waits until each one
# is ready, and writes $SVC_ROOT/env (default /var/tmp/pcapd-test-services/env), a file tests
# can source:  set -a; . /var/tmp/pcapd-test-services/env; set +a
# Everything binds to 127.0.0.1. PCAPD_SVC_ROOT / PCAPD_SVC_CACHE move the data / install dirs.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SVC_DIR="$HERE/services"
# shellcheck source-path=SCRIPTDIR/services
source "$SVC_DIR/common.sh"

ALL_SERVICES=(redis kafka elasticmq versitygw moto)

usage() {
  sed -n '2,10s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
  exit 2
}

# Debian packages each service needs (Go is not one: versitygw.sh brings a recent enough Go
# itself when the machine has none, see services/go.sh).
packages_for() {
  case "$1" in
    redis) echo redis-server ;;
    kafka | elasticmq) echo openjdk-17-jre-headless maven ;;
    moto) echo python3-venv ;;
    versitygw) ;;
  esac
}

do_install() {
  local s pkgs=()
  for s in "$@"; do
    # shellcheck disable=SC2207  # plain package names
    pkgs+=($(packages_for "$s"))
  done
  ensure_apt_packages "${pkgs[@]}"
  # One after another: the installs share ~/.m2 and the Go caches.
  for s in "$@"; do
    "$SVC_DIR/$s.sh" install
  done
}

# run_parallel CMD SERVICE...: run `<service>.sh CMD` for all services at once, then print their
# outputs in the given order. Fails if any failed (after all have finished).
run_parallel() {
  local cmd=$1 s rc=0 tmp
  shift
  local -A pids=()
  tmp=$(mktemp -d)
  for s in "$@"; do
    "$SVC_DIR/$s.sh" "$cmd" >"$tmp/$s.out" 2>"$tmp/$s.err" &
    pids[$s]=$!
  done
  for s in "$@"; do
    if ! wait "${pids[$s]}"; then
      rc=1
      cat "$tmp/$s.err" >&2
      printf '%-10s FAILED to %s (see above)\n' "$s" "$cmd"
    fi
    cat "$tmp/$s.out"
  done
  rm -rf -- "$tmp"
  return "$rc"
}

# (Re)write $SVC_ROOT/env from the services that are running now, whichever were named on
# this command line: starting only redis must not drop Kafka's line while Kafka runs.
write_env() {
  local s lines=""
  mkdir -p "$SVC_ROOT"
  for s in "${ALL_SERVICES[@]}"; do
    if "$SVC_DIR/$s.sh" status >/dev/null; then
      lines+="$("$SVC_DIR/$s.sh" env)"$'\n'
    fi
  done
  if [[ -z $lines ]]; then
    rm -f -- "$SVC_ROOT/env"
    return 0
  fi
  # Atomic replace: a test reading the file never sees half of it.
  printf '%s' "$lines" >"$SVC_ROOT/env.tmp"
  mv -f -- "$SVC_ROOT/env.tmp" "$SVC_ROOT/env"
}

cmd=${1:-}
[[ -n $cmd ]] || usage
shift
services=("$@")
if (( ${#services[@]} == 0 )); then
  [[ $cmd != restart ]] || usage
  services=("${ALL_SERVICES[@]}")
fi
for s in "${services[@]}"; do
  [[ -x $SVC_DIR/$s.sh && " ${ALL_SERVICES[*]} " == *" $s "* ]] || die "unknown service '$s' (known: ${ALL_SERVICES[*]})"
done

case "$cmd" in
  install)
    do_install "${services[@]}"
    ;;
  start | restart)
    # Install anything missing first (one at a time), so CI can call `start` alone.
    missing=()
    for s in "${services[@]}"; do
      "$SVC_DIR/$s.sh" installed || missing+=("$s")
    done
    if (( ${#missing[@]} )); then
      log "not installed yet: ${missing[*]}; installing"
      do_install "${missing[@]}"
    fi
    t0=$(now_us)
    # Parallel is safe: distinct ports and dirs; the two JVMs just share the 2 cores.
    rc=0
    run_parallel "$cmd" "${services[@]}" || rc=$?
    write_env
    if (( rc == 0 )); then
      log "all ready in $(elapsed_since "$t0") s; env: $SVC_ROOT/env"
    fi
    exit "$rc"
    ;;
  stop)
    rc=0
    run_parallel stop "${services[@]}" || rc=$?
    write_env
    exit "$rc"
    ;;
  status)
    rc=0
    for s in "${services[@]}"; do
      "$SVC_DIR/$s.sh" status || rc=3
    done
    exit "$rc"
    ;;
  env)
    for s in "${services[@]}"; do
      "$SVC_DIR/$s.sh" env
    done
    ;;
  *)
    usage
    ;;
esac
