#!/usr/bin/env bash
# check_direct_client.sh -- end to end: jouletrace-direct-client publishes jobs to a real nats-server that a real worker serves.
# Usage: tests/check_direct_client.sh REPO_ROOT BIN_DIR NATS_SERVER [--auth]
# (BIN_DIR holds jouletrace-broker, jouletrace-worker, jouletrace-runner, jouletrace-direct-client)
# --auth: nats-server runs with the users scripts/up generates (scripts/lib.sh
# jt_nats_auth_write); broker and worker use the service user's file, the client the client's.
set -euo pipefail
root=$1 bin=$2 nats=$3 auth=${4:-}
fail() {
  echo "FAIL: $*" >&2
  for f in "$tmp"/*.log; do
    [ -f "$f" ] && { echo "--- $f" >&2; tail -n 30 "$f" >&2; }
  done
  exit 1
}

tmp=$(mktemp -d)
nats_pid="" worker_pid=""
cleanup() {
  local p
  for p in $worker_pid $nats_pid; do
    kill -TERM "$p" 2>/dev/null || continue
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

if [ "$auth" = --auth ]; then
  JOULETRACE_VAR_DIR=$tmp/var JT_ROOT=$root \
    bash -c '. "$JT_ROOT/scripts/lib.sh"; jt_nats_auth_write' || fail "jt_nats_auth_write failed"
  JOULETRACE_JETSTREAM_DIR=$tmp/store "$nats" -c "$tmp/var/nats/nats-server.conf" -a 127.0.0.1 \
    -p -1 -m -1 --ports_file_dir "$tmp" >"$tmp/nats.log" 2>&1 &
else
  "$nats" -js -a 127.0.0.1 -p -1 -m -1 --ports_file_dir "$tmp" -sd "$tmp/store" \
    >"$tmp/nats.log" 2>&1 &
fi
nats_pid=$!
port=""
for _ in $(seq 100); do
  for f in "$tmp"/nats-server_*.ports; do break; done
  if [ -f "$f" ]; then
    port=$(sed -n 's|.*"nats://127\.0\.0\.1:\([0-9]*\)".*|\1|p' "$f" | head -n1)
    [ -n "$port" ] && break
  fi
  sleep 0.1
done
[ -n "$port" ] || fail "nats-server did not start"
export JOULETRACE_NATS_URL=nats://127.0.0.1:$port
export JOULETRACE_METER=estimate JOULETRACE_CALIBRATION=$tmp/calibration.json
export JOULETRACE_WORKER_ID=direct-client-test
client_creds=""
if [ "$auth" = --auth ]; then
  export JOULETRACE_NATS_CREDENTIALS_FILE=$tmp/var/nats/service.credentials
  client_creds=$tmp/var/nats/client.credentials
  # without credentials the server refuses the client: exit 3
  set +e
  env -u JOULETRACE_NATS_CREDENTIALS_FILE "$bin/jouletrace-direct-client" --timeout 5 \
    "$root/examples/square.json" 2>>"$tmp/client.log"
  rc=$?
  set -e
  [ "$rc" = 3 ] || fail "a client without credentials should exit 3, got $rc"
fi
# The direct client runs as the client user under --auth, like a user of scripts/up.
direct_client() {
  if [ -n "$client_creds" ]; then
    JOULETRACE_NATS_CREDENTIALS_FILE=$client_creds "$bin/jouletrace-direct-client" "$@"
  else
    "$bin/jouletrace-direct-client" "$@"
  fi
}

"$bin/jouletrace-broker" init >"$tmp/broker-init.log" 2>&1 || fail "jouletrace-broker init failed"
"$bin/jouletrace-worker" run >"$tmp/worker.log" 2>&1 &
worker_pid=$!

# The correct example: progress lines, then one completed result; exit 0.
direct_client --timeout 120 "$root/examples/square.json" >"$tmp/out.jsonl" 2>"$tmp/client.log" ||
  fail "direct client exited $? on the correct example"
lines=$(wc -l <"$tmp/out.jsonl")
[ "$lines" -ge 2 ] || fail "expected progress lines and a result, got $lines lines"
/usr/bin/python3 - "$tmp/out.jsonl" <<'PY' || fail "output is not the expected records"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
ids = {r["task_id"] for r in recs}
assert len(ids) == 1, ids
assert all(r["status"] not in ("completed", "failed", "cancelled") for r in recs[:-1]), recs
last = recs[-1]
assert last["status"] == "completed", last["status"]
assert last["validation"]["is_correct"] is True
assert last["measurement_environment"]["energy_is_estimated"] is True
assert "median_total_energy_joules" in last["energy_metrics"]
assert any(r["status"] == "measuring" for r in recs[:-1]), [r["status"] for r in recs]
PY
task=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readlines()[-1])["task_id"])' "$tmp/out.jsonl")

# Publishing the same task id again is deduplicated: the stored result is printed, exit 0.
direct_client --timeout 20 --task-id "$task" "$root/examples/square.json" >"$tmp/dup.jsonl" 2>>"$tmp/client.log" ||
  fail "republishing task $task exited $?"
grep -q duplicate "$tmp/client.log" || fail "the second publish was not reported as a duplicate"
[ "$(wc -l <"$tmp/dup.jsonl")" = 1 ] || fail "a duplicate should print only the stored result"

# A wrong solution ends failed: exit 1, with the validation details.
cat >"$tmp/wrong.json" <<'EOF'
{"candidate_code": "def solve(x):\n  return x + x\n",
 "test_cases": [{"test_id": "t1", "inputs": [2], "expected_output": 4},
                {"test_id": "t2", "inputs": [7], "expected_output": 49}],
 "energy_measurement_trials": 1, "warmup_trials": 0}
EOF
set +e
direct_client --timeout 120 "$tmp/wrong.json" >"$tmp/wrong.jsonl" 2>>"$tmp/client.log"
rc=$?
set -e
[ "$rc" = 1 ] || fail "a wrong solution should exit 1, got $rc"
/usr/bin/python3 -c '
import json, sys
r = json.loads(open(sys.argv[1]).readlines()[-1])
assert r["status"] == "failed", r
assert r["validation"]["passed_tests"] == 1 and r["validation"]["total_tests"] == 2, r["validation"]
' "$tmp/wrong.jsonl" || fail "the failed result lacks its validation details"

# Integers beyond 64 bits travel exact (msgpack ext type 1) and are computed exactly.
cat >"$tmp/bigint.json" <<'EOF'
{"candidate_code": "def solve(x, y):\n  return x * y\n",
 "test_cases": [{"test_id": "big", "inputs": [1180591620717411303424, -1208925819614629174706176],
                 "expected_output": -1427247692705959881058285969449495136382746624}],
 "energy_measurement_trials": 1, "warmup_trials": 0}
EOF
direct_client --timeout 120 "$tmp/bigint.json" >"$tmp/bigint.jsonl" 2>>"$tmp/client.log" ||
  fail "direct client exited $? on the big-integer job"
/usr/bin/python3 -c '
import json, sys
r = json.loads(open(sys.argv[1]).readlines()[-1])
assert r["status"] == "completed", r
t = r["validation"]["test_results"][0]
assert t["passed"] and t["actual_output"] == "-1427247692705959881058285969449495136382746624", t
' "$tmp/bigint.jsonl" || fail "the big-integer job did not complete exactly"

# Bad input never reaches the bus: exit 2.
echo '{"candidate_code": "x", "test_cases": [], "bogus": 1}' >"$tmp/bad.json"
set +e
direct_client "$tmp/bad.json" 2>>"$tmp/client.log"
rc=$?
set -e
[ "$rc" = 2 ] || fail "bad input should exit 2, got $rc"

# No broker: exit 3.
set +e
JOULETRACE_NATS_URL=nats://127.0.0.1:1 direct_client "$root/examples/square.json" 2>>"$tmp/client.log"
rc=$?
set -e
[ "$rc" = 3 ] || fail "an unreachable broker should exit 3, got $rc"
echo "jouletrace-direct-client${auth:+ ($auth)}: completed, duplicate, failed, big integers," \
  "bad input and no broker: ok"
