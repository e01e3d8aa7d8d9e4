# shellcheck shell=bash
# Helpers sourced by scripts/services/*.sh (the local servers pcapd's integration tests use).
# Not executable on its own: each service script sets its hooks and calls svc_main "$@".

# Runtime data (pid files, logs, server data). Wiped per service on `start` so every test run
# begins from a clean state.
SVC_ROOT="${PCAPD_SVC_ROOT:-/var/tmp/pcapd-test-services}"
# Installed artifacts (jars, binaries, venvs). Kept across runs so a re-run does not re-download.
SVC_CACHE="${PCAPD_SVC_CACHE:-/var/cache/pcapd-test-services}"

# Go lives in /usr/local/go on these machines and `go install` defaults to $HOME/go/bin; neither
# is on PATH in a non-login shell (CI), so add both.
PATH="/usr/local/go/bin:${HOME:-/root}/go/bin:$PATH"
export PATH

# Every server binds here only: tests must never expose anything beyond loopback.
SVC_HOST=127.0.0.1

# Both roots get `rm -rf`'d below them, so refuse anything that is not a real absolute path.
case "$SVC_ROOT" in /?*) ;; *) echo "PCAPD_SVC_ROOT must be an absolute path other than / (got '$SVC_ROOT')" >&2; exit 2 ;; esac
case "$SVC_CACHE" in /?*) ;; *) echo "PCAPD_SVC_CACHE must be an absolute path other than / (got '$SVC_CACHE')" >&2; exit 2 ;; esac

log() { printf '[%s] %s\n' "${SVC_NAME:-services}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# shellcheck source=../lib/apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/apt.sh"

# Microseconds since the epoch, from bash's own clock (no `date` fork per poll).
now_us() { local t=${EPOCHREALTIME/./}; echo "$((10#$t))"; }
# Seconds elapsed since a now_us value, as "1.23".
elapsed_since() {
  local ms=$(( ($(now_us) - $1) / 1000 ))
  printf '%d.%02d' $((ms / 1000)) $(((ms % 1000) / 10))
}

# port_open HOST PORT: true if something accepts TCP connections there.
# Uses bash's /dev/tcp (no netcat needed); `timeout` guards against a full accept backlog hanging us.
port_open() {
  # shellcheck disable=SC2016  # $1/$2 are expanded by the inner bash, on purpose
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# http_answers HOST PORT: true if an HTTP server answers a plain GET / with any status line.
# Servers like versitygw and moto open the port slightly before they serve requests.
http_answers() {
  # shellcheck disable=SC2016  # expanded by the inner bash, on purpose
  timeout 3 bash -c '
    exec 3<>"/dev/tcp/$1/$2" || exit 1
    printf "GET / HTTP/1.0\r\nHost: %s:%s\r\n\r\n" "$1" "$2" >&3
    IFS= read -r line <&3 && [[ $line == HTTP/* ]]
  ' _ "$1" "$2" 2>/dev/null
}

# pid_of PIDFILE: print the pid stored in PIDFILE (empty if none).
pid_of() { if [[ -f $1 ]]; then tr -dc '0-9' <"$1"; fi; }

# pid_alive PIDFILE [PATTERN]: true if the pid in PIDFILE is a live (non-zombie) process whose
# command line contains PATTERN. The pattern check stops a stale pid file from making us treat,
# or kill, an unrelated process that reused the pid. Zombies count as dead: in containers pid 1
# does not always reap orphans, and kill -0 succeeds on a zombie.
pid_alive() {
  local pid state cmdline
  pid=$(pid_of "$1")
  [[ -n $pid ]] || return 1
  [[ -r /proc/$pid/stat ]] || return 1
  state=$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ $state != Z && $state != X ]] || return 1
  if [[ -n ${2:-} ]]; then
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    [[ $cmdline == *"$2"* ]] || return 1
  fi
}

# show_log_tail FILE...: last lines of the given logs, for error messages.
show_log_tail() {
  local f
  for f in "$@"; do
    [[ -s $f ]] || continue
    log "---- last 40 lines of $f ----"
    tail -n 40 "$f" >&2
  done
}

# wait_for TIMEOUT_S LOGFILE PIDFILE CMD...: poll CMD every 0.1 s until it succeeds.
# Fails (showing the log tail) when the deadline passes or, if PIDFILE is non-empty, as soon as
# that process dies: a crashed server should fail fast, not after the full timeout.
wait_for() {
  local timeout=$1 logfile=$2 pidfile=$3
  shift 3
  local start
  start=$(now_us)
  until "$@"; do
    if [[ -n $pidfile ]] && ! pid_alive "$pidfile"; then
      log "process exited while waiting for: $*"
      show_log_tail "$logfile"
      return 1
    fi
    if (( ($(now_us) - start) / 1000000 >= timeout )); then
      log "not ready after ${timeout}s (waited for: $*)"
      show_log_tail "$logfile"
      return 1
    fi
    sleep 0.1
  done
}

# stop_pidfile PIDFILE [TIMEOUT_S] [PATTERN]: SIGTERM, wait up to TIMEOUT_S for a clean exit
# (Kafka flushes and closes its logs on TERM), then SIGKILL. Removes the pid file. Idempotent.
stop_pidfile() {
  local pidfile=$1 timeout=${2:-20} pattern=${3:-} pid deadline
  if ! pid_alive "$pidfile" "$pattern"; then
    rm -f -- "$pidfile"
    return 0
  fi
  pid=$(pid_of "$pidfile")
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$(( $(now_us) + timeout * 1000000 ))
  while pid_alive "$pidfile" "$pattern"; do
    if (( $(now_us) >= deadline )); then
      log "pid $pid still running after ${timeout}s of SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
      break
    fi
    sleep 0.1
  done
  rm -f -- "$pidfile"
}

# launch_bg LOGFILE PIDFILE CMD...: start a server in the background, detached.
# - setsid: own session, so a Ctrl-C aimed at the test runner does not take the servers down.
# - </dev/null and output to a log: nothing keeps the caller's terminal or pipes open (a pipe
#   held by a server would make `start | tee` hang forever).
# - 9>&-: fd 9 holds the per-service flock (svc_lock); a server inheriting it would keep the
#   lock for its whole life and block the next stop/start.
# The child is not a process-group leader, so setsid execs without forking and $! is the
# server's own pid.
launch_bg() {
  local logfile=$1 pidfile=$2
  shift 2
  setsid "$@" </dev/null >>"$logfile" 2>&1 9>&- &
  echo "$!" >"$pidfile"
}

# ensure_ports_free PORT...: refuse to start if someone else already listens there, rather than
# letting the server crash on bind (or tests silently talk to a foreign server).
ensure_ports_free() {
  local p
  for p in "$@"; do
    if port_open "$SVC_HOST" "$p"; then
      die "port $SVC_HOST:$p is already in use by a process not started by this script (check: ss -ltnp 'sport = :$p')"
    fi
  done
}

# mvn_fetch_jars DEST_DIR GROUP:ARTIFACT:VERSION...: resolve the runtime classpath of the given
# artifacts from Maven into DEST_DIR via a throwaway pom. Populates DEST_DIR atomically (temp dir
# + rename) so an interrupted install is never mistaken for a finished one.
mvn_fetch_jars() {
  local dest=$1 gav g a v tmp deps=""
  shift
  for gav in "$@"; do
    IFS=: read -r g a v <<<"$gav"
    deps+="<dependency><groupId>$g</groupId><artifactId>$a</artifactId><version>$v</version></dependency>"
  done
  mkdir -p "$(dirname "$dest")"
  tmp=$(mktemp -d "$(dirname "$dest")/.fetch.XXXXXX")
  # Pin the dependency plugin: unpinned, Maven picks whatever version the registry lists as newest.
  cat >"$tmp/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>pcapd.test-services</groupId>
  <artifactId>fetch</artifactId>
  <version>0</version>
  <packaging>pom</packaging>
  <dependencies>$deps</dependencies>
  <build><plugins><plugin>
    <groupId>org.apache.maven.plugins</groupId>
    <artifactId>maven-dependency-plugin</artifactId>
    <version>3.8.1</version>
  </plugin></plugins></build>
</project>
POM
  if ! mvn -q -B -f "$tmp/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$tmp/libs" >"$tmp/mvn.log" 2>&1; then
    show_log_tail "$tmp/mvn.log"
    rm -rf -- "$tmp"
    die "maven could not resolve: $*"
  fi
  rm -rf -- "$dest"
  mv -- "$tmp/libs" "$dest"
  rm -rf -- "$tmp"
}

# ---------------------------------------------------------------------------------------------
# Generic subcommand handling. A service script sets:
#   SVC_ADDR          address shown to the user (host:port)
#   SVC_MATCH         substring of the server's command line (see pid_alive)
#   SVC_STOP_TIMEOUT  seconds of SIGTERM before SIGKILL
# and defines:
#   svc_installed     true if installed
#   svc_install       install it (only called when svc_installed is false)
#   svc_ports         print the ports it listens on
#   svc_launch KEEP   prepare the run dir (wipe unless KEEP=1), launch, wait until ready
#   svc_env           print KEY=VALUE lines for $SVC_ROOT/env
# ---------------------------------------------------------------------------------------------

svc_init() {
  SVC_NAME=$1
  SVC_RUN="$SVC_ROOT/$SVC_NAME"
  SVC_PIDFILE="$SVC_RUN/$SVC_NAME.pid"
  SVC_STOP_TIMEOUT=20
}

# svc_lock: serialize start/stop/restart of one service (parallel test workers may call these);
# the lock file sits beside, not inside, the run dir because the run dir gets wiped.
svc_lock() {
  mkdir -p "$SVC_ROOT"
  exec 9>"$SVC_ROOT/.$SVC_NAME.lock"
  flock -w 300 9 || die "timed out waiting for the lock $SVC_ROOT/.$SVC_NAME.lock"
}

# Installs share ~/.m2 and the Go caches, which are not safe for concurrent writers: one at a time.
svc_install_lock() {
  mkdir -p "$SVC_CACHE"
  exec 8>"$SVC_CACHE/.install.lock"
  flock -w 1800 8 || die "timed out waiting for the install lock"
}

svc_running() { pid_alive "$SVC_PIDFILE" "$SVC_MATCH"; }

# Wipe the run dir (fresh data on every start). Only called when the server is not running.
svc_wipe() { rm -rf -- "$SVC_RUN"; mkdir -p "$SVC_RUN"; }

svc_report() { printf '%-10s %-22s %s\n' "$SVC_NAME" "$SVC_ADDR" "$*"; }

svc_do_start() {
  local keep=$1 t0 port
  svc_installed || die "not installed; run: scripts/test-services.sh install $SVC_NAME"
  # shellcheck disable=SC2046  # svc_ports prints plain numbers
  ensure_ports_free $(svc_ports)
  t0=$(now_us)
  if (( keep )); then mkdir -p "$SVC_RUN"; else svc_wipe; fi
  # Called plainly, not as `if ! svc_launch`: a condition would switch off `set -e` inside it.
  # On any failure the EXIT trap kills a half-started server so the next start is clean.
  trap 'stop_pidfile "$SVC_PIDFILE" 5 "$SVC_MATCH"; log "failed to start (logs in $SVC_RUN)"' EXIT
  svc_launch "$keep"
  trap - EXIT
  for port in $(svc_ports); do
    port_open "$SVC_HOST" "$port" || die "started but port $port is not open (logs in $SVC_RUN)"
  done
  svc_report "ready in $(elapsed_since "$t0") s (pid $(pid_of "$SVC_PIDFILE"))"
}

svc_do_stop() {
  local port
  stop_pidfile "$SVC_PIDFILE" "$SVC_STOP_TIMEOUT" "$SVC_MATCH"
  for port in $(svc_ports); do
    if port_open "$SVC_HOST" "$port"; then
      log "warning: port $port still open after stop: a process this script did not start (or whose pid file was removed) holds it"
    fi
  done
}

svc_main() {
  local cmd=${1:-} t0
  case "$cmd" in
    install)
      svc_install_lock
      if svc_installed; then printf '%-10s already installed\n' "$SVC_NAME"; return 0; fi
      t0=$(now_us)
      svc_install
      svc_installed || die "install finished but the installed check still fails"
      printf '%-10s installed in %s s\n' "$SVC_NAME" "$(elapsed_since "$t0")"
      ;;
    installed) svc_installed ;;
    start)
      svc_lock
      if svc_running; then svc_report "already running (pid $(pid_of "$SVC_PIDFILE"))"; return 0; fi
      svc_do_start 0
      ;;
    restart)
      # Simulates an outage: same ports; keeps data where the service script says so.
      svc_lock
      svc_do_stop
      svc_do_start "${SVC_RESTART_KEEPS_DATA:-0}"
      ;;
    stop)
      svc_lock
      svc_do_stop
      ;;
    status)
      if svc_running; then svc_report "running (pid $(pid_of "$SVC_PIDFILE"))"; else svc_report "stopped"; return 3; fi
      ;;
    env) svc_env ;;
    *)
      echo "usage: $0 install|start|stop|restart|status|env" >&2
      exit 2
      ;;
  esac
}
