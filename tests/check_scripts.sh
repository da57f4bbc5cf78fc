#!/usr/bin/env bash
# check_scripts.sh -- scripts/up, down and lib.sh parse; scripts/down stops exactly what its pid files name.
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

out=$("$root/scripts/down" 2>&1) || fail "scripts/down with nothing to stop failed: $out"
echo "scripts/down stops exactly its own processes: ok"
