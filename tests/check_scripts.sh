#!/usr/bin/env bash
# check_scripts.sh -- scripts/up, down, lib.sh: down stops exactly its own, removes the NATS users.
# Usage: tests/check_scripts.sh REPO_ROOT
set -euo pipefail
root=$1
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

for f in scripts/up scripts/down scripts/lib.sh; do
  bash -n "$root/$f" || fail "$f does not parse"
done

tmp=$(mktemp -d)
foreign=""
cleanup() {
  [ -z "$foreign" ] || kill -KILL "$foreign" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
export JOULETRACE_VAR_DIR=$tmp/var
export JT_ROOT=$root
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"
mkdir -p "$JT_RUN" "$JT_LOG"

# Ours: a plain process, and one that ignores SIGTERM and has a helper in its group.
jt_start worker-1 sleep 300
jt_start worker-2 bash -c 'trap "" TERM; sleep 300 & wait'
ours1=$(cat "$JT_RUN/worker-1.pid")
ours2=$(cat "$JT_RUN/worker-2.pid")
sleep 0.5
helper=$(jt_group_members "$ours2" | grep -vx "$ours2" | head -n1)
[ -n "$helper" ] || fail "worker-2 has no helper in its process group"
jt_running_pid worker-1 >/dev/null || fail "jt_running_pid does not see worker-1"

# Not ours: a live process whose pid file has another start time (a reused pid), and a
# pid file of a process long gone.
sleep 300 &
foreign=$!
echo "$foreign" >"$JT_RUN/gateway.pid"
echo 1 >"$JT_RUN/gateway.start"
echo 4194303 >"$JT_RUN/nats-server.pid"
jt_running_pid gateway >/dev/null && fail "a reused pid is taken for ours"

# The NATS users of scripts/up: private files, `user:password`, a configuration nats-server
# accepts; written anew (new passwords) each time.
jt_nats_auth_write
[ "$(stat -c %a "$JT_NATS_DIR")" = 700 ] || fail "$JT_NATS_DIR is not mode 700"
for f in nats-server.conf service.credentials client.credentials; do
  [ "$(stat -c %a "$JT_NATS_DIR/$f")" = 600 ] || fail "$f is not mode 600"
done
grep -qE '^service:[0-9a-f]{64}$' "$JT_NATS_DIR/service.credentials" || fail "service.credentials"
grep -qE '^client:[0-9a-f]{64}$' "$JT_NATS_DIR/client.credentials" || fail "client.credentials"
first=$(cat "$JT_NATS_DIR/client.credentials")
nats=$(command -v nats-server || echo /usr/sbin/nats-server)
if [ -x "$nats" ]; then
  JOULETRACE_JETSTREAM_DIR=$tmp/js "$nats" -c "$JT_NATS_DIR/nats-server.conf" -t >/dev/null 2>&1 ||
    fail "nats-server refuses the generated configuration"
fi
jt_nats_auth_write
[ "$(cat "$JT_NATS_DIR/client.credentials")" != "$first" ] || fail "passwords were not renewed"
jt_nats_auth_present || fail "jt_nats_auth_present does not see the files"

out=$(JOULETRACE_DOWN_TIMEOUT=1 "$root/scripts/down" 2>&1) || fail "scripts/down failed: $out"
echo "$out"
alive() { [ -d "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
alive "$ours1" && fail "worker-1 ($ours1) still runs"
alive "$ours2" && fail "worker-2 ($ours2, ignores SIGTERM) still runs"
alive "$helper" && fail "the helper ($helper) in worker-2's group still runs"
alive "$foreign" || fail "scripts/down killed a process it did not start ($foreign)"
left=$(ls "$JT_RUN")
[ -z "$left" ] || fail "pid files left: $left"
[ -f "$JT_LOG/worker-1.log" ] || fail "logs were removed"
[ ! -e "$JT_NATS_DIR" ] || fail "scripts/down left the NATS users in $JT_NATS_DIR"

out=$("$root/scripts/down" 2>&1) || fail "scripts/down with nothing to stop failed: $out"
echo "scripts/down stops exactly its own processes: ok"
