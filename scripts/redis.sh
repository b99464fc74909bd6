#!/usr/bin/env bash
# Throw-away loopback redis-server instances for tests and local development.
#
#   bash scripts/redis.sh install          install redis-server (apt, as root) without starting any service
#   bash scripts/redis.sh start [port]     start one on 127.0.0.1 (given port, or a free one); no persistence
#   bash scripts/redis.sh stop [port]      stop the one on port (no port: every instance this script started)
#   bash scripts/redis.sh halt port        shut the one on port down but keep its data dir (start it again on that port)
#   bash scripts/redis.sh status [port]    show running instances (exit 1 when none / not running)
#
# npm run redis:start / npm run redis:stop call this script.
# `start` prints REDIS_PORT=<port> as the last line on stdout; everything else goes to stderr.
# State (pidfile, log, working dir) lives in $TENANTRY_REDIS_DIR, default ${TMPDIR:-/tmp}/tenantry-redis/<port>/.
# start/stop/status never touch a server this script did not start (such as a system service on 6379).
# With REDIS_SH_NO_INSTALL=1 a missing redis-server is an error instead of an apt install (used by tests).
# With REDIS_SH_PERSIST=1 `start` runs with an append-only file fsynced on every write (appendfsync always), so
# data written before a halt is there after the next start on the same port.
set -euo pipefail

STATE_ROOT="${TENANTRY_REDIS_DIR:-${TMPDIR:-/tmp}/tenantry-redis}"
HOST=127.0.0.1

log() { printf 'redis.sh: %s\n' "$*" >&2; }
die() { printf 'redis.sh: error: %s\n' "$*" >&2; exit 1; }

usage() {
  sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

have_redis() { command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; }

valid_port() { [[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le 65535 ]; }

# ---------------------------------------------------------------------------------------------------- install

# Stop and disable a system redis service if one is running (e.g. started by the package's postinst on a host
# without a policy-rc.d). Only the Debian service is touched, never instances started by this script.
stop_system_service() {
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl disable --now redis-server.service >/dev/null 2>&1 || true
  elif [ -x /etc/init.d/redis-server ]; then
    /etc/init.d/redis-server stop >/dev/null 2>&1 || true
    if command -v update-rc.d >/dev/null 2>&1; then update-rc.d redis-server disable >/dev/null 2>&1 || true; fi
  fi
  local pidfile=/run/redis/redis-server.pid pid i
  if [ -s "$pidfile" ]; then
    pid="$(cat "$pidfile" 2>/dev/null || true)"
    if [[ "$pid" =~ ^[0-9]+$ ]] && is_redis_pid "$pid"; then
      log "stopping the system redis-server service (pid $pid)"
      kill "$pid" 2>/dev/null || true
      for i in $(seq 1 100); do is_redis_pid "$pid" || break; sleep 0.1; done
    fi
  fi
}

do_install() {
  if have_redis; then
    return 0
  fi
  if [ "${REDIS_SH_NO_INSTALL:-}" = 1 ]; then
    die "redis-server is not installed. Install it first:  bash scripts/redis.sh install   (as root: apt-get install -y redis-server)"
  fi
  if [ "$(id -u)" != 0 ]; then
    die "redis-server is not installed and installing it needs root. Run as root:
    sudo apt-get install -y redis-server     (Debian/Ubuntu; or: sudo bash scripts/redis.sh install)
  or install Redis >= 7 another way (https://redis.io/docs/latest/operate/oss_and_stack/install/) so that
  redis-server and redis-cli are on PATH."
  fi
  command -v apt-get >/dev/null 2>&1 || die "redis-server is not installed and apt-get is not available: install Redis >= 7 so that redis-server and redis-cli are on PATH"

  export DEBIAN_FRONTEND=noninteractive
  # Keep the package from starting Debian's service on 6379: a policy-rc.d that denies every start.
  local policy=/usr/sbin/policy-rc.d policy_backup="" policy_ours=0
  if [ -e "$policy" ] || [ -L "$policy" ]; then
    policy_backup="$(mktemp "${TMPDIR:-/tmp}/policy-rc.d.XXXXXX")"
    cp -a "$policy" "$policy_backup"
  fi
  printf '#!/bin/sh\n# written by tenantry scripts/redis.sh during apt-get install\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  policy_ours=1
  restore_policy() {
    if [ "$policy_ours" = 1 ]; then
      if [ -n "$policy_backup" ]; then cp -a "$policy_backup" "$policy" && rm -f "$policy_backup"; else rm -f "$policy"; fi
      policy_ours=0
    fi
  }
  trap restore_policy EXIT

  # apt-get update only when the package lists do not know redis-server (fresh machine, emptied lists).
  local candidate
  candidate="$(apt-cache policy redis-server 2>/dev/null || true)"
  if ! printf '%s\n' "$candidate" | grep 'Candidate: [0-9]' >/dev/null; then
    log "apt-get update"
    apt-get update -qq >&2 || die "apt-get update failed"
  fi
  log "apt-get install -y redis-server"
  if ! apt-get install -y -qq --no-install-recommends redis-server >&2; then
    # Stale lists (404 on a superseded .deb): refresh once and retry.
    log "apt-get install failed; running apt-get update and retrying"
    apt-get update -qq >&2 || die "apt-get update failed"
    apt-get install -y -qq --no-install-recommends redis-server >&2 || die "apt-get install -y redis-server failed"
  fi
  restore_policy
  trap - EXIT
  stop_system_service
  have_redis || die "redis-server was installed but redis-server/redis-cli are not on PATH"
  log "installed $(redis-server --version | head -n1)"
}

# ---------------------------------------------------------------------------------------------------- helpers

# is_redis_pid PID: the process exists, is a redis-server (guards against a recycled pid) and is not a zombie
# (an exited daemon stays a zombie until PID 1 reaps it, which some container inits do late or never).
is_redis_pid() {
  local comm state
  kill -0 "$1" 2>/dev/null || return 1
  if [ -r "/proc/$1/stat" ]; then
    state="$(cat "/proc/$1/stat" 2>/dev/null || true)"
    state="${state##*) }"; state="${state%% *}"
  else
    state="$(ps -o stat= -p "$1" 2>/dev/null || true)"
  fi
  case "$state" in Z* | X* | "") return 1 ;; esac
  comm="$(cat "/proc/$1/comm" 2>/dev/null || ps -o comm= -p "$1" 2>/dev/null || true)"
  case "$comm" in
    redis-server*) return 0 ;;
    *) return 1 ;;
  esac
}

state_dir() { printf '%s/%s' "$STATE_ROOT" "$1"; }

# our_pid PORT: prints the pid of the instance this script started on PORT, if it is running.
our_pid() {
  local pidfile pid
  pidfile="$(state_dir "$1")/redis.pid"
  [ -s "$pidfile" ] || return 1
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  is_redis_pid "$pid" || return 1
  printf '%s' "$pid"
}

ping_port() { [ "$(redis-cli -h "$HOST" -p "$1" ping 2>/dev/null || true)" = PONG ]; }

# port_busy PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_busy() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# free_port: a port the kernel hands out for an ephemeral bind on loopback right now.
free_port() {
  if command -v node >/dev/null 2>&1; then
    node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{process.stdout.write(String(s.address().port));s.close();});'
  else
    local p i
    for i in $(seq 1 200); do
      p=$(( 20000 + RANDOM % 30000 ))
      port_busy "$p" || { printf '%s' "$p"; return 0; }
    done
    return 1
  fi
}

known_ports() {
  local d
  [ -d "$STATE_ROOT" ] || return 0
  for d in "$STATE_ROOT"/*/; do
    d="${d%/}"; d="${d##*/}"
    valid_port "$d" && printf '%s\n' "$d"
  done
  return 0
}

# ---------------------------------------------------------------------------------------------------- start

# try_start PORT: 0 started (or already ours), 1 port taken by someone else, 2 failed for another reason.
try_start() {
  local port="$1" dir pid i
  dir="$(state_dir "$port")"
  if pid="$(our_pid "$port")"; then
    if ping_port "$port"; then
      log "already running on $HOST:$port (pid $pid)"
      return 0
    fi
  fi
  if port_busy "$port"; then
    return 1
  fi
  mkdir -p "$dir"
  rm -f "$dir/redis.pid"
  : >"$dir/redis.log"
  local persistence=(--appendonly no)
  if [ "${REDIS_SH_PERSIST:-}" = 1 ]; then persistence=(--appendonly yes --appendfsync always); fi
  if ! redis-server --port "$port" --bind "$HOST" --protected-mode yes \
      --save '' "${persistence[@]}" --daemonize yes \
      --pidfile "$dir/redis.pid" --dir "$dir" --logfile "$dir/redis.log" >&2; then
    return 2
  fi
  for i in $(seq 1 200); do   # up to ~20 s
    if pid="$(our_pid "$port")" && ping_port "$port"; then
      log "started redis-server on $HOST:$port (pid $pid, log $dir/redis.log)"
      return 0
    fi
    # The daemon gave up on the port (lost a race for it): say so at once.
    if grep -qiE 'address already in use|failed listening on port' "$dir/redis.log" 2>/dev/null; then
      return 1
    fi
    sleep 0.1
  done
  return 2
}

do_start() {
  local port="${1:-}" attempt rc
  do_install
  if [ -n "$port" ]; then
    valid_port "$port" || die "invalid port: $port"
    rc=0; try_start "$port" || rc=$?
    case "$rc" in
      0) ;;
      1) die "port $port on $HOST is already in use by another process (not started by this script)" ;;
      *) tail -n 20 "$(state_dir "$port")/redis.log" >&2 2>/dev/null || true
         die "redis-server did not start on $HOST:$port" ;;
    esac
  else
    for attempt in 1 2 3 4 5; do
      port="$(free_port)" || die "could not find a free port"
      rc=0; try_start "$port" || rc=$?
      [ "$rc" = 0 ] && break
      if [ "$rc" = 2 ]; then
        tail -n 20 "$(state_dir "$port")/redis.log" >&2 2>/dev/null || true
        die "redis-server did not start on $HOST:$port"
      fi
      log "port $port was taken meanwhile; trying another"
      port=""
    done
    [ -n "$port" ] || die "could not start redis-server on a free port after 5 attempts"
  fi
  printf 'REDIS_PORT=%s\n' "$port"
}

# ---------------------------------------------------------------------------------------------------- stop

stop_one() {
  local port="$1" keep="${2:-0}" pid dir i
  dir="$(state_dir "$port")"
  if ! pid="$(our_pid "$port")"; then
    log "not running on $HOST:$port"
    [ "$keep" = 1 ] || rm -rf "$dir"
    return 0
  fi
  # With appendonly the append-only file is fsynced at shutdown whatever the argument.
  redis-cli -h "$HOST" -p "$port" shutdown nosave >/dev/null 2>&1 || true
  for i in $(seq 1 100); do   # up to ~10 s for a clean shutdown
    is_redis_pid "$pid" || break
    sleep 0.1
  done
  if is_redis_pid "$pid"; then
    log "redis-server pid $pid did not shut down; sending SIGTERM"
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do is_redis_pid "$pid" || break; sleep 0.1; done
  fi
  if is_redis_pid "$pid"; then
    kill -9 "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do is_redis_pid "$pid" || break; sleep 0.1; done
  fi
  is_redis_pid "$pid" && die "could not stop redis-server pid $pid on port $port"
  [ "$keep" = 1 ] || rm -rf "$dir"
  log "stopped redis-server on $HOST:$port (pid $pid)"
}

do_stop() {
  local port="${1:-}" p any=0
  have_redis || { log "redis-server is not installed; nothing to stop"; return 0; }
  if [ -n "$port" ]; then
    valid_port "$port" || die "invalid port: $port"
    stop_one "$port"
  else
    for p in $(known_ports); do any=1; stop_one "$p"; done
    [ "$any" = 1 ] || log "no instances started by this script"
  fi
}

# ---------------------------------------------------------------------------------------------------- status

do_status() {
  local port="${1:-}" p pid any=0
  if [ -n "$port" ]; then
    valid_port "$port" || die "invalid port: $port"
    if pid="$(our_pid "$port")" && ping_port "$port"; then
      printf 'running %s:%s pid %s\n' "$HOST" "$port" "$pid"
      return 0
    fi
    printf 'not running %s:%s\n' "$HOST" "$port"
    return 1
  fi
  for p in $(known_ports); do
    if pid="$(our_pid "$p")"; then
      any=1
      printf 'running %s:%s pid %s\n' "$HOST" "$p" "$pid"
    fi
  done
  [ "$any" = 1 ] || { printf 'no instances running\n'; return 1; }
}

# ---------------------------------------------------------------------------------------------------- main

cmd="${1:-}"
[ $# -gt 0 ] && shift
[ $# -le 1 ] || usage
case "$cmd" in
  install) do_install; redis-server --version | head -n1 ;;
  start) do_start "${1:-}" ;;
  stop) do_stop "${1:-}" ;;
  halt) [ -n "${1:-}" ] && valid_port "$1" || die "halt needs a port"; stop_one "$1" 1 ;;
  status) have_redis || { printf 'redis-server is not installed\n'; exit 1; }; do_status "${1:-}" ;;
  *) usage ;;
esac
