# scripts/lib.sh -- helpers of scripts/up and scripts/down: pid files, process identity, waits.
# Sourced, never run. Expects JT_ROOT (repository root) to be set by the caller.
# shellcheck shell=bash

JT_VAR="${JOULETRACE_VAR_DIR:-$JT_ROOT/var}"
JT_RUN="$JT_VAR/run"
JT_LOG="$JT_VAR/log"

jt_say() { printf '%s\n' "$*"; }
jt_warn() { printf 'WARNING: %s\n' "$*" >&2; }
jt_die() {
  printf 'ERROR: %s\n' "$*" >&2
  exit 1
}

# Fields of /proc/PID/stat after the command name into the array JT_STAT (JT_STAT[0] is the
# state, field 3; so field N is JT_STAT[N-3]). Builtins only: no fork per process.
jt_read_stat() {
  local line
  JT_STAT=()
  { read -r line <"/proc/$1/stat"; } 2>/dev/null || return 1
  line=${line##*) } # the command name may hold spaces and parentheses
  read -r -a JT_STAT <<<"$line"
}

# Start time of a process (field 22 of /proc/PID/stat, clock ticks since boot).
jt_proc_starttime() {
  jt_read_stat "$1" || return 1
  printf '%s\n' "${JT_STAT[19]}"
}

# Record that NAME runs as PID: var/run/NAME.pid (the pid alone) and NAME.start (its start
# time), so a pid reused by another program later is never taken for ours.
jt_record_pid() {
  local name=$1 pid=$2
  printf '%s\n' "$pid" >"$JT_RUN/$name.pid"
  jt_proc_starttime "$pid" >"$JT_RUN/$name.start" 2>/dev/null || true
}

# Print the pid of NAME when its pid file names a live process that is still the one we
# started (same start time; a zombie does not count). Returns 1 otherwise.
jt_running_pid() {
  local name=$1 pid want
  [ -f "$JT_RUN/$name.pid" ] || return 1
  read -r pid <"$JT_RUN/$name.pid" 2>/dev/null || return 1
  case "$pid" in '' | *[!0-9]*) return 1 ;; esac
  [ -d "/proc/$pid" ] || return 1
  jt_read_stat "$pid" || return 1
  [ "${JT_STAT[0]}" != Z ] || return 1
  if [ -s "$JT_RUN/$name.start" ]; then
    read -r want <"$JT_RUN/$name.start" || return 1
    [ "$want" = "${JT_STAT[19]}" ] || return 1
  fi
  printf '%s\n' "$pid"
}

jt_forget_pid() { rm -f "$JT_RUN/$1.pid" "$JT_RUN/$1.start"; }

# Live processes (not zombies) whose process group is PGID, one pid a line.
jt_group_members() {
  local pgid=$1 d
  for d in /proc/[0-9]*; do
    jt_read_stat "${d#/proc/}" || continue
    [ "${JT_STAT[2]}" = "$pgid" ] && [ "${JT_STAT[0]}" != Z ] && printf '%s\n' "${d#/proc/}"
  done
  return 0
}

# Start NAME in the background in its own session (so its helpers share its process group),
# stdout+stderr appended to var/log/NAME.log, pid recorded. Arguments: NAME CMD [ARGS...].
# The environment of the caller is passed on (export what the program should see).
jt_start() {
  local name=$1 pid
  shift
  mkdir -p "$JT_RUN" "$JT_LOG"
  printf '=== %s: scripts/up starts %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >>"$JT_LOG/$name.log"
  # Without job control a background child is not a group leader, so setsid does not fork
  # again and $! is the program itself. Descriptors other than 0-2 that the caller holds
  # (a pipe of whoever runs scripts/up) are closed first: a daemon must not keep them open.
  (
    for fd in "/proc/$BASHPID/fd"/*; do
      fd=${fd##*/}
      [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-"
    done
    exec setsid "$@" </dev/null >>"$JT_LOG/$name.log" 2>&1
  ) &
  pid=$!
  jt_record_pid "$name" "$pid"
}

# Stop NAME: SIGTERM, wait up to TIMEOUT seconds, then SIGKILL to its process group; then
# any process left in that group (a sandbox runner whose parent died) is killed too.
jt_stop() {
  local name=$1 timeout=${2:-20} pid i left
  if ! pid=$(jt_running_pid "$name"); then
    if [ -f "$JT_RUN/$name.pid" ]; then
      jt_say "  $name: not running (stale pid file removed)"
      jt_forget_pid "$name"
    fi
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < timeout * 10; i++)); do
    jt_running_pid "$name" >/dev/null || break
    sleep 0.1
  done
  if jt_running_pid "$name" >/dev/null; then
    jt_warn "$name (pid $pid) still running after ${timeout}s: SIGKILL"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      jt_running_pid "$name" >/dev/null || break
      sleep 0.1
    done
  fi
  left=$(jt_group_members "$pid")
  if [ -n "$left" ]; then
    sleep 1 # helpers die with their parent (PR_SET_PDEATHSIG): give them a moment
    left=$(jt_group_members "$pid")
    if [ -n "$left" ]; then
      jt_warn "$name: processes left in its group (${left//$'\n'/ }): SIGKILL"
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
  fi
  if jt_running_pid "$name" >/dev/null; then
    jt_warn "$name (pid $pid) could not be stopped"
    return 1
  fi
  jt_forget_pid "$name"
  jt_say "  $name (pid $pid) stopped"
}

# Whether something accepts TCP connections on HOST PORT (bash /dev/tcp, 1 s bound).
jt_port_open() {
  timeout 1 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

# The first API token the gateway accepts: of JOULETRACE_API_TOKENS, else the first
# token line of JOULETRACE_API_TOKENS_FILE (the gateway's own rules: "#" lines skipped).
# Prints nothing when no token is configured.
jt_api_token() {
  if [ -n "${JOULETRACE_API_TOKENS:-}" ]; then
    printf '%s' "${JOULETRACE_API_TOKENS%%,*}"
  elif [ -n "${JOULETRACE_API_TOKENS_FILE:-}" ] && [ -r "$JOULETRACE_API_TOKENS_FILE" ]; then
    sed -e 's/\r$//' -e '/^[[:space:]]*#/d' -e '/^[[:space:]]*$/d' \
      "$JOULETRACE_API_TOKENS_FILE" | head -n1 | tr -d '[:space:]'
  fi
}

# GET URL, body on stdout; fails on connection errors and on HTTP >= 400 unless
# ANY_STATUS=1 is set. Uses curl when installed, else bash /dev/tcp (HTTP/1.0).
# With tokens configured (jt_api_token) the request carries the first one; it goes to
# curl on its standard input, never on its command line (which `ps` shows).
jt_http_get() {
  local url=$1 hostport path host port reply status token
  token=$(jt_api_token)
  if command -v curl >/dev/null 2>&1; then
    local args=(-sS --max-time 5)
    [ "${ANY_STATUS:-0}" = 1 ] || args+=(-f)
    if [ -n "$token" ]; then
      printf 'Authorization: Bearer %s\n' "$token" | curl "${args[@]}" -H @- "$url"
    else
      curl "${args[@]}" "$url"
    fi
    return
  fi
  hostport=${url#http://}
  path=/${hostport#*/}
  hostport=${hostport%%/*}
  host=${hostport%:*}
  port=${hostport##*:}
  local hdr=""
  if [ -n "$token" ]; then
    hdr="Authorization: Bearer $token"$'\r\n'
  fi
  # host, port and path travel as arguments (no quoting of their text); the header with
  # the token in the environment, which only its user can read (argv is public)
  reply=$(JT_HTTP_HEADER="$hdr" timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/$2" || exit 1
    printf "GET %s HTTP/1.0\r\nHost: %s:%s\r\n%sConnection: close\r\n\r\n" "$3" "$1" "$2" \
      "$JT_HTTP_HEADER" >&3
    cat <&3' jt_http_get "$host" "$port" "$path") || return 1
  status=$(printf '%s\n' "$reply" | head -n1 | awk '{print $2}')
  if [ "${ANY_STATUS:-0}" != 1 ] && [ "${status:-599}" -ge 400 ]; then
    return 1
  fi
  printf '%s\n' "$reply" | sed '1,/^\r\{0,1\}$/d'
}

# Last lines of the logs of the given names.
jt_log_tails() {
  local name
  for name in "$@"; do
    if [ -f "$JT_LOG/$name.log" ]; then
      printf -- '--- last lines of %s ---\n' "$JT_LOG/$name.log" >&2
      # only this start's lines: from the last "=== ... scripts/up starts" marker on
      awk '/^=== .*scripts\/up starts/ { n = 0 } { line[++n] = $0 }
           END { for (i = (n > k ? n - k + 1 : 1); i <= n; i++) print line[i] }' \
        k="${JT_TAIL_LINES:-20}" "$JT_LOG/$name.log" >&2
    fi
  done
}

# Names of every process scripts/up started (one per pid file in var/run), in stopping
# order: workers first, so they finish or return their jobs while NATS is still there, then
# the gateway and anything else, NATS last.
jt_known_names() {
  local f n first=() middle=() last=()
  for f in "$JT_RUN"/*.pid; do
    [ -e "$f" ] || continue
    n=${f##*/}
    n=${n%.pid}
    case "$n" in
      worker-*) first+=("$n") ;;
      nats-server) last+=("$n") ;;
      *) middle+=("$n") ;;
    esac
  done
  [ $((${#first[@]} + ${#middle[@]} + ${#last[@]})) -gt 0 ] || return 0
  printf '%s\n' "${first[@]}" "${middle[@]}" "${last[@]}" | sed '/^$/d'
}

# ---- NATS users of a nats-server started by scripts/up ---------------------------------------
# JT_NATS_DIR holds what jt_nats_auth_write makes (directory 0700, files 0600):
#   nats-server.conf     broker/nats-server.conf + broker/nats-{service,client}-permissions.conf
#                        + the users `service` and `client` with fresh random passwords
#   service.credentials  `service:PASSWORD`, for the gateway, the workers and jouletrace-broker
#   client.credentials   `client:PASSWORD`, for direct NATS clients (README)
JT_NATS_DIR="$JT_VAR/nats"

# 32 random bytes as 64 hex digits (no character a config or a URL would need to quote).
jt_random_password() {
  od -An -N32 -tx1 /dev/urandom | tr -d ' \n'
}

# Write JT_NATS_DIR's three files anew (new passwords). Passwords travel through files only:
# never through arguments or the environment of another program.
jt_nats_auth_write() {
  local service_pw client_pw tmp
  service_pw=$(jt_random_password)
  client_pw=$(jt_random_password)
  [ "${#service_pw}" = 64 ] && [ "${#client_pw}" = 64 ] || jt_die "cannot read /dev/urandom"
  (
    umask 077
    mkdir -p "$JT_NATS_DIR"
    chmod 700 "$JT_NATS_DIR"
    tmp="$JT_NATS_DIR/.nats-server.conf.$$"
    {
      printf '# nats-server.conf -- generated by scripts/up at %s; scripts/down removes it.\n' \
        "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
      printf '# Sources: broker/nats-server.conf, broker/nats-service-permissions.conf,\n'
      printf '# broker/nats-client-permissions.conf. Mode 600: it holds the passwords.\n\n'
      cat "$JT_ROOT/broker/nats-server.conf" "$JT_ROOT/broker/nats-service-permissions.conf" \
        "$JT_ROOT/broker/nats-client-permissions.conf"
      printf '\nauthorization {\n    users: [\n'
      printf '        { user: service, password: "%s", permissions: $JT_SERVICE_PERMISSIONS }\n' \
        "$service_pw"
      printf '        { user: client, password: "%s", permissions: $JT_CLIENT_PERMISSIONS }\n' \
        "$client_pw"
      printf '    ]\n}\n'
    } >"$tmp"
    mv -f "$tmp" "$JT_NATS_DIR/nats-server.conf"
    printf 'service:%s\n' "$service_pw" >"$JT_NATS_DIR/service.credentials.tmp"
    mv -f "$JT_NATS_DIR/service.credentials.tmp" "$JT_NATS_DIR/service.credentials"
    printf 'client:%s\n' "$client_pw" >"$JT_NATS_DIR/client.credentials.tmp"
    mv -f "$JT_NATS_DIR/client.credentials.tmp" "$JT_NATS_DIR/client.credentials"
  ) || jt_die "cannot write the NATS users into $JT_NATS_DIR"
}

# Whether JT_NATS_DIR holds a complete set from jt_nats_auth_write.
jt_nats_auth_present() {
  [ -f "$JT_NATS_DIR/nats-server.conf" ] && [ -f "$JT_NATS_DIR/service.credentials" ] &&
    [ -f "$JT_NATS_DIR/client.credentials" ]
}

# Remove what jt_nats_auth_write made (and only that).
jt_nats_auth_remove() {
  rm -f "$JT_NATS_DIR/nats-server.conf" "$JT_NATS_DIR/service.credentials" \
    "$JT_NATS_DIR/client.credentials" "$JT_NATS_DIR/service.credentials.tmp" \
    "$JT_NATS_DIR/client.credentials.tmp" "$JT_NATS_DIR"/.nats-server.conf.*
  rmdir "$JT_NATS_DIR" 2>/dev/null || true
}
