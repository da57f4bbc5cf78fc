#!/usr/bin/env bash
# check_direct_js.sh -- the README's JavaScript client (examples/direct_client.mjs) against a real nats-server and worker.
# Usage: tests/check_direct_js.sh REPO_ROOT BIN_DIR NATS_SERVER NODE_MODULES_PARENT
# (BIN_DIR holds jouletrace-broker, jouletrace-worker, jouletrace-runner; NODE_MODULES_PARENT
# the folder where `npm ci` installed tests/direct_js). The jobs end in validation (a wrong
# answer, an unusable id), so no trial runs and the measurement core is not needed.
set -euo pipefail
root=$1 bin=$2 nats=$3 modules=$4
tmp=$(mktemp -d)
pids=""
cleanup() {
  local p
  for p in $pids; do
    kill -TERM "$p" 2>/dev/null || continue
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  tail -n 30 "$tmp"/*.log "$tmp"/*.jsonl >&2 2>/dev/null || true
  exit 1
}

"$nats" -js -a 127.0.0.1 -p -1 -m -1 --ports_file_dir "$tmp" -sd "$tmp/store" >"$tmp/nats.log" 2>&1 &
pids="$!"
port=""
for _ in $(seq 100); do
  port=$(sed -n 's|.*"nats://127\.0\.0\.1:\([0-9]*\)".*|\1|p' "$tmp"/nats-server_*.ports 2>/dev/null |
    head -n1 || true)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || fail "nats-server did not start"
export JOULETRACE_NATS_URL=nats://127.0.0.1:$port JOULETRACE_METER=estimate
export JOULETRACE_CALIBRATION=$tmp/calibration.json JOULETRACE_WORKER_ID=direct-js-test
"$bin/jouletrace-broker" init >"$tmp/broker.log" 2>&1 || fail "jouletrace-broker init failed"
"$bin/jouletrace-worker" run >"$tmp/worker.log" 2>&1 &
pids="$! $pids"

# The example as a user runs it: its folder linked to the installed packages.
mkdir "$tmp/client"
cp "$root/examples/direct_client.mjs" "$tmp/client/"
ln -s "$modules/node_modules" "$tmp/client/node_modules"
client() { node "$tmp/client/direct_client.mjs" "$@"; }

cat >"$tmp/wrong.json" <<'JOB'
{"candidate_code": "def solve(x):\n  return x + x\n",
 "test_cases": [{"test_id": "t1", "inputs": [2], "expected_output": 4},
                {"test_id": "t2", "inputs": [7], "expected_output": 49}],
 "energy_measurement_trials": 1, "warmup_trials": 0}
JOB
# A wrong answer: progress lines, then the final record; exit 1.
set +e
client "$tmp/wrong.json" js-1 >"$tmp/wrong.jsonl" 2>"$tmp/client.log"
rc=$?
set -e
[ "$rc" = 1 ] || fail "a wrong answer should exit 1, got $rc"
/usr/bin/python3 - "$tmp/wrong.jsonl" <<'PY' || fail "the final record is not as documented"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
last = recs[-1]
assert last["status"] == "failed" and last["error_type"] == "incorrect", last
assert last["task_id"] == "js-1", last
v = last["validation"]
assert isinstance(v["passed_tests"], int) and v["passed_tests"] == 1, v
t = {r["test_id"]: r for r in v["test_results"]}
assert t["t2"]["actual_output"] == "14", t["t2"]  # a Python repr, as a string
assert isinstance(last["progress"], (int, float)), last
PY
# The same id again within 5 min: JetStream drops it; the client reads the stored record.
set +e
client "$tmp/wrong.json" js-1 >"$tmp/dup.jsonl" 2>>"$tmp/client.log"
rc=$?
set -e
[ "$rc" = 1 ] || fail "a duplicate publish should print the stored record and exit 1, got $rc"
[ "$(wc -l <"$tmp/dup.jsonl")" = 1 ] || fail "a duplicate should print only the stored record"
grep -q '"task_id":"js-1"' "$tmp/dup.jsonl" || fail "the stored record is not js-1's"
# An id that breaks the rule: one rejection naming it; exit 2.
set +e
client "$tmp/wrong.json" a.b >"$tmp/rejected.jsonl" 2>>"$tmp/client.log"
rc=$?
set -e
[ "$rc" = 2 ] || fail "an unusable id should be rejected (exit 2), got $rc"
/usr/bin/python3 - "$tmp/rejected.jsonl" <<'PY' || fail "the rejection is not as documented"
import json, sys
r = json.loads(open(sys.argv[1]).readlines()[-1])
assert r["status"] == "rejected" and r["error_type"] == "invalid_task_id", r
assert r["nats_msg_id"] == "a.b" and isinstance(r["stream_sequence"], int), r
PY
echo "direct JavaScript client: OK"
