#!/usr/bin/env bash
# Proves the README's two commands on a bare Debian 12, as a new user would meet them.
#
#   scripts/fresh-debian-check.sh              clone this repository's HEAD into the chroot
#   scripts/fresh-debian-check.sh --worktree   copy the working tree instead (uncommitted changes too)
#   scripts/fresh-debian-check.sh --keep       leave the chroot in place (its path is printed)
#
# It bootstraps `debootstrap --variant=minbase bookworm` from the mirror the host's apt already
# uses, copies in the host's apt sources and CA certificates (so the chroot reaches the package
# registries as the host does), binds /proc, /sys, /dev, /dev/pts and /run, and bind-mounts the
# chroot's root onto itself so `ip netns` works inside. Then, inside, as root:
#   1. ./scripts/run.sh            until it logs "pcapd started", then the README's "A first
#                                  capture" exactly as written, which must record 10 of 10 packets
#   2. ./scripts/test.sh           the whole suite, which must pass
# and reports each one's result and time. Everything it made is removed at the end (processes
# in the chroot, mounts, network namespaces, files). Root only; takes 20-30 minutes; not for CI.
# The test servers bind the same 127.0.0.1 ports as on the host: stop the host's first
# (scripts/test-services.sh stop).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

log() { printf '[fresh-debian] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# shellcheck source=lib/apt.sh
source scripts/lib/apt.sh

SOURCE=clone KEEP=0
for arg in "$@"; do
  case "$arg" in
    --worktree) SOURCE=worktree ;;
    --keep) KEEP=1 ;;
    *) sed -n '2,8s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
  esac
done
(( EUID == 0 )) || die "run as root (debootstrap, chroot, mounts)"

WORK=$(mktemp -d /var/tmp/pcapd-fresh.XXXXXX)
ROOT=$WORK/root
APP=/root/pcapd
# Logs outlive the chroot, to read after a failure.
LOGS=$WORK.logs
mkdir -p "$LOGS"
RUN_LOG=$LOGS/run.log
TEST_LOG=$LOGS/test.log
# Ports the chroot's pcapd (8347) and test servers (redis, kafka, elasticmq, versitygw, moto) bind.
PORTS=(8347 6390 19092 19093 9324 7070 5000)
# The README's "A first capture" asks for packets: 10.
FIRST_CAPTURE_PACKETS=10
RUN_READY_TIMEOUT_S=1800
TEST_TIMEOUT_S=3600

now_s() { date +%s; }

# The mirror the host's apt takes bookworm's main component from.
host_mirror() {
  apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' 'Identifier: Packages' 2>/dev/null |
    awk '$2 == "bookworm" && $3 == "main" { print $1; exit }'
}

ports_in_use() {
  local p busy=()
  for p in "${PORTS[@]}"; do
    if timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$p" 2>/dev/null; then busy+=("$p"); fi
  done
  echo "${busy[*]}"
}

# Every process whose root is the chroot.
chroot_pids() {
  local p
  for p in /proc/[0-9]*; do
    [[ $(readlink "$p/root" 2>/dev/null) == "$ROOT" ]] && echo "${p#/proc/}"
  done
  return 0
}

kill_chroot_processes() {
  local pids sig
  for sig in TERM KILL; do
    pids=$(chroot_pids)
    [[ -n $pids ]] || return 0
    # shellcheck disable=SC2086  # a list of pids
    kill -s "$sig" $pids 2>/dev/null || true
    sleep 3
  done
}

# Mount points under the chroot, deepest first.
chroot_mounts() { awk -v r="$ROOT" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/mounts | sort -r; }

cleanup() {
  local rc=$? m ns
  set +e
  log "cleaning up"
  kill_chroot_processes
  # Namespaces the suite inside may have left behind (it shares the host's /run/netns).
  for ns in $(ip netns list 2>/dev/null | awk '/^pcapd-t-/ {print $1}'); do ip netns del "$ns" 2>/dev/null; done
  if (( KEEP )); then
    log "kept: $ROOT (mounts left in place; rerun without --keep to remove)"
    exit "$rc"
  fi
  for m in $(chroot_mounts); do umount -l "$m" 2>/dev/null; done
  if [[ -n $(chroot_mounts) ]]; then
    log "mounts remain under $ROOT; not removing files: $(chroot_mounts | tr '\n' ' ')"
  else
    rm -rf --one-file-system -- "$WORK"
  fi
  log "logs: $LOGS"
  exit "$rc"
}
trap cleanup EXIT

bootstrap() {
  local mirror t0
  ensure_apt_packages debootstrap git
  mirror=$(host_mirror)
  [[ -n $mirror ]] || die "the host's apt sources name no mirror for bookworm main"
  log "debootstrap --variant=minbase bookworm from $mirror"
  t0=$(now_s)
  debootstrap --variant=minbase bookworm "$ROOT" "$mirror" >"$LOGS/debootstrap.log" 2>&1 ||
    { tail -n 30 "$LOGS/debootstrap.log" >&2; die "debootstrap failed"; }
  log "debootstrap done in $(( $(now_s) - t0 )) s"
}

copy_host_settings() {
  local f
  # apt: the host's sources and its Acquire options (e.g. a snapshot mirror needs Check-Valid-Until off).
  rm -f "$ROOT/etc/apt/sources.list"
  [[ -f /etc/apt/sources.list ]] && cp /etc/apt/sources.list "$ROOT/etc/apt/sources.list"
  for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] && cp "$f" "$ROOT/etc/apt/sources.list.d/"
  done
  for f in /etc/apt/apt.conf.d/*; do
    [[ -f $f ]] && grep -q '^Acquire::' "$f" && cp "$f" "$ROOT/etc/apt/apt.conf.d/"
  done
  # CA certificates the host adds to Debian's own: the regular files among /etc/ssl/certs (Debian's
  # are symlinks) and /usr/local/share/ca-certificates. update-ca-certificates in the chroot keeps
  # them when the ca-certificates package is installed; the host's bundle serves until then.
  mkdir -p "$ROOT/usr/local/share/ca-certificates" "$ROOT/etc/ssl/certs"
  for f in /etc/ssl/certs/*.pem; do
    [[ -f $f && ! -L $f ]] && cp "$f" "$ROOT/usr/local/share/ca-certificates/host-$(basename "$f" .pem).crt"
  done
  for f in /usr/local/share/ca-certificates/*.crt; do
    [[ -f $f ]] && cp "$f" "$ROOT/usr/local/share/ca-certificates/"
  done
  [[ -f /etc/ssl/certs/ca-certificates.crt ]] && cp /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/certs/"
  cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
  # A bare machine has no policy-rc.d; keep it that way, but packages must not start daemons of
  # the host's init inside a chroot.
  printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
  chmod 0755 "$ROOT/usr/sbin/policy-rc.d"
}

mount_system() {
  mount --bind "$ROOT" "$ROOT"
  mount --make-private "$ROOT"
  mount -t proc proc "$ROOT/proc"
  mount -t sysfs sysfs "$ROOT/sys"
  mount --bind /dev "$ROOT/dev"
  mount --bind /dev/pts "$ROOT/dev/pts"
  mount --bind /run "$ROOT/run"
}

place_source() {
  if [[ $SOURCE == clone ]]; then
    log "cloning $(git -C "$REPO" rev-parse --short HEAD) into $APP"
    git clone --quiet "$REPO" "$ROOT$APP"
  else
    log "copying the working tree into $APP"
    mkdir -p "$ROOT$APP"
    git -C "$REPO" ls-files -z --cached --others --exclude-standard |
      (cd "$REPO" && xargs -0 cp --parents -a -t "$ROOT$APP" 2>/dev/null) || true
  fi
}

# in_chroot CMD: run a shell command in the chroot with a bare machine's environment, plus the
# host's CA-bundle variables (they name files copied in above).
in_chroot() {
  local env=(HOME=/root TERM="${TERM:-dumb}" LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
  local v
  for v in NODE_EXTRA_CA_CERTS SSL_CERT_FILE SSL_CERT_DIR CURL_CA_BUNDLE REQUESTS_CA_BUNDLE PIP_CERT GIT_SSL_CAINFO AWS_CA_BUNDLE; do
    [[ -n ${!v:-} ]] && env+=("$v=${!v}")
  done
  chroot "$ROOT" /usr/bin/env -i "${env[@]}" /bin/bash -c "$1"
}

# The README's "A first capture" block, run as written.
first_capture_commands() {
  awk '/^## A first capture/ { on = 1; next } on && /^## / { exit } on && /^```sh/ { block = 1; next }
       block && /^```/ { exit } block { print }' "$ROOT$APP/README.md"
}

check_run() {
  local t0 pid deadline out packets file
  log "command 1: ./scripts/run.sh"
  t0=$(now_s)
  in_chroot "cd $APP && exec ./scripts/run.sh" >"$RUN_LOG" 2>&1 &
  pid=$!
  deadline=$(( t0 + RUN_READY_TIMEOUT_S ))
  until grep -q 'pcapd started' "$RUN_LOG"; do
    kill -0 "$pid" 2>/dev/null || { tail -n 40 "$RUN_LOG" >&2; die "run.sh exited before pcapd started"; }
    (( $(now_s) < deadline )) || { tail -n 40 "$RUN_LOG" >&2; die "run.sh: no \"pcapd started\" after ${RUN_READY_TIMEOUT_S} s"; }
    sleep 1
  done
  RUN_SECONDS=$(( $(now_s) - t0 ))
  log "run.sh: pcapd started after $RUN_SECONDS s"

  log "the README's first capture:"
  first_capture_commands | sed 's/^/    /' >&2
  out=$(in_chroot "cd $APP && set -e && $(first_capture_commands)" 2>&1) ||
    { echo "$out" >&2; die "the README's first capture failed"; }
  echo "$out" | sed 's/^/    | /' >&2
  file=$(in_chroot 'ls /var/lib/pcapd/captures/*-first.pcapng' | head -n 1)
  packets=$(in_chroot "tcpdump -r '$file' 2>/dev/null | wc -l")
  FIRST_CAPTURE_RESULT="$packets of $FIRST_CAPTURE_PACKETS packets in $file"
  log "first capture: $FIRST_CAPTURE_RESULT"

  # Ctrl-C's equivalent: pcapd ends cleanly on SIGTERM.
  local p
  for p in $(chroot_pids); do
    tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q 'dist/cli.js' && kill -TERM "$p"
  done
  wait "$pid" || true
  (( packets == FIRST_CAPTURE_PACKETS )) || die "the first capture recorded $packets packets, not $FIRST_CAPTURE_PACKETS"
}

check_test() {
  local t0 rc=0
  log "command 2: ./scripts/test.sh (log: $TEST_LOG)"
  t0=$(now_s)
  in_chroot "cd $APP && timeout $TEST_TIMEOUT_S ./scripts/test.sh" >"$TEST_LOG" 2>&1 || rc=$?
  TEST_SECONDS=$(( $(now_s) - t0 ))
  TEST_SUMMARY=$(sed 's/\x1b\[[0-9;]*m//g' "$TEST_LOG" | grep -E '^ +(Test Files|Tests) ' | tr -s ' ' | paste -sd ';' -) || true
  log "test.sh: exit $rc after $TEST_SECONDS s: ${TEST_SUMMARY:-no vitest summary}"
  if (( rc != 0 )); then tail -n 60 "$TEST_LOG" >&2; fi
  return "$rc"
}

main() {
  local busy total0
  busy=$(ports_in_use)
  [[ -z $busy ]] || die "ports $busy are in use on 127.0.0.1; stop the host's pcapd and test servers first (scripts/test-services.sh stop)"
  total0=$(now_s)
  bootstrap
  copy_host_settings
  mount_system
  place_source
  check_run
  check_test
  log "summary (Debian $(cat "$ROOT/etc/debian_version"), minbase):"
  log "  ./scripts/run.sh   pcapd started after $RUN_SECONDS s; first capture: $FIRST_CAPTURE_RESULT"
  log "  ./scripts/test.sh  passed in $TEST_SECONDS s: $TEST_SUMMARY"
  log "  total $(( $(now_s) - total0 )) s"
}

main
