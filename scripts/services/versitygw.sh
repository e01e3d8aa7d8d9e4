#!/usr/bin/env bash
# versitygw v1.8.0, an S3 gateway storing objects as plain files (posix backend), on
# 127.0.0.1:7070 for pcapd's tests. Checks SigV4 signatures (wrong keys are rejected).
# Known gaps: ServerSideEncryption is accepted but not echoed (use moto.sh for that), and
# GetObjectAcl answers 501.
# Usage: versitygw.sh install|start|stop|restart|status|env
#   start   wipes the bucket data; restart keeps it (simulates an outage).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/go.sh"

svc_init versitygw
VGW_VERSION=v1.8.0
VGW_BIN="$SVC_CACHE/bin/versitygw"
# `go install` records nothing we can read without go itself; a stamp file tells which version
# the cached binary is, so `installed` is a file read and a version bump triggers a rebuild.
VGW_STAMP="$SVC_CACHE/bin/.versitygw.version"
VGW_PORT=7070
S3_ACCESS_KEY=pcapdtest
S3_SECRET_KEY=pcapdtestsecret
DATA="$SVC_RUN/data"
SVC_ADDR="$SVC_HOST:$VGW_PORT"
SVC_MATCH="versitygw"
SVC_STOP_TIMEOUT=10
SVC_RESTART_KEEPS_DATA=1

svc_installed() { [[ -x $VGW_BIN && $(cat "$VGW_STAMP" 2>/dev/null) == "$VGW_VERSION" ]]; }

svc_install() {
  ensure_go
  mkdir -p "$SVC_CACHE/bin"
  # A source build through the Go module proxy (~75 modules, ~1-2 min cold on 2 cores); the
  # module and build caches stay in go's defaults, so a rebuild after a cache wipe is quick.
  # -trimpath -s -w: a smaller binary, no local paths in it.
  # go's per-module "downloading" chatter goes to a log; shown only if the build fails.
  if ! GOBIN="$SVC_CACHE/bin" go install -trimpath -ldflags="-s -w" \
      "github.com/versity/versitygw/cmd/versitygw@$VGW_VERSION" >"$SVC_CACHE/versitygw-install.log" 2>&1; then
    show_log_tail "$SVC_CACHE/versitygw-install.log"
    die "go install of versitygw $VGW_VERSION failed"
  fi
  echo "$VGW_VERSION" >"$VGW_STAMP"
}

svc_ports() { echo "$VGW_PORT"; }

vgw_ready() { http_answers "$SVC_HOST" "$VGW_PORT"; }

svc_launch() {
  mkdir -p "$DATA"
  # The posix backend keeps object metadata in user xattrs: the data dir must be on a file
  # system that supports them (ext4/xfs/btrfs do; old tmpfs kernels do not).
  # Credentials come from the environment ("single account mode": no IAM store needed).
  ROOT_ACCESS_KEY="$S3_ACCESS_KEY" ROOT_SECRET_KEY="$S3_SECRET_KEY" \
    launch_bg "$SVC_RUN/versitygw.log" "$SVC_PIDFILE" \
    "$VGW_BIN" --port "$SVC_HOST:$VGW_PORT" --region us-east-1 --quiet posix "$DATA"
  wait_for 30 "$SVC_RUN/versitygw.log" "$SVC_PIDFILE" vgw_ready
}

svc_env() {
  echo "PCAPD_TEST_S3_ENDPOINT=http://$SVC_ADDR"
  echo "PCAPD_TEST_S3_ACCESS_KEY=$S3_ACCESS_KEY"
  echo "PCAPD_TEST_S3_SECRET_KEY=$S3_SECRET_KEY"
}

svc_main "$@"
