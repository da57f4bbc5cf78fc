# compose_e2e_jobs.py -- the job phase of check_compose_e2e.sh: a running compose stack, 20 jobs over HTTP, a worker killed mid-measurement, scaled to 1; every job completes exactly once.
#
# Usage: /usr/bin/python3 tests/compose_e2e_jobs.py BASE_URL LEASE_HOST COMPOSE_ARGV...
#   BASE_URL      the gateway's published port, http://127.0.0.1:PORT (nothing else is reached)
#   LEASE_HOST    the stack's JOULETRACE_LEASE_HOST: every lease held must be LEASE_HOST.socket0
#   COMPOSE_ARGV  the compose command of this stack, e.g. docker-compose -f FILE -p PROJECT
# Needs the stack up with 3 workers. Prints one line per phase and a summary; exit status 1 with
# the reasons when a check fails. Reads and writes nothing outside the stack.
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

JOBS = 20
base, lease_host, compose = sys.argv[1], sys.argv[2], sys.argv[3:]
lease_key = lease_host + ".socket0"
problems = []
start = time.monotonic()

# Each job measures for a few seconds (1 warm-up and 3 trials of >= 0.3 s), so that a worker is
# found measuring and killed in the middle of it.
JOB = {
    "candidate_code": "def solve(n):\n    s = 0\n    for i in range(n):\n        s += i * i\n"
                      "    return s\n",
    "function_name": "solve",
    "test_cases": [{"test_id": "t1", "inputs": [100000], "expected_output": 333328333350000}],
    "energy_measurement_trials": 3,
    "warmup_trials": 1,
    "min_trial_seconds": 0.3,
    "timeout_seconds": 20,
}

# What a candidate sees of the box inside a worker container: not root, no network, none of the
# container's files, its own pid namespace, no capabilities.
PROBE = {
    "candidate_code": (
        "import os\n"
        "def solve(x):\n"
        "    r = {'uid': os.getuid() != 0,\n"
        "         'files': not any(os.path.exists(p) for p in\n"
        "                          ('/opt/jouletrace', '/run/jouletrace', '/var/lib/jouletrace',\n"
        "                           '/etc/passwd', '/sys/fs/cgroup')),\n"
        "         'pids': sorted(int(p) for p in os.listdir('/proc') if p.isdigit())[0] == 1}\n"
        "    try:\n"
        "        import socket\n"
        "        socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()\n"
        "        r['socket'] = 'allowed'\n"
        "    except OSError:\n"
        "        r['socket'] = 'refused'\n"
        "    with open('/proc/self/status') as f:\n"
        "        r['caps'] = [l.split()[1] for l in f if l.startswith('CapEff')][0]\n"
        "    return r\n"),
    "function_name": "solve",
    "test_cases": [{"inputs": [0], "expected_output": {
        "uid": True, "files": True, "pids": True, "socket": "refused",
        "caps": "0000000000000000"}}],
    "timeout_seconds": 20,
}


def say(msg):
    print("[%6.1f s] %s" % (time.monotonic() - start, msg), flush=True)


def check(cond, msg):
    if not cond:
        problems.append(msg)
        say("FAIL: " + msg)
    return cond


def http(method, path, body=None, headers=None, timeout=30):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def get_json(path):
    status, text = http("GET", path)
    if status != 200:
        raise RuntimeError("GET %s: %d %s" % (path, status, text[:300]))
    return json.loads(text)


def run(*argv):
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=300)


def finish():
    for p in problems:
        print("FAIL: " + p, flush=True)
    sys.exit(1 if problems else 0)


def leases_ok(seen):
    """Every lease held is the stack's one key, held by one worker at a time."""
    holders = get_json("/api/v1/socket0/status").get("lease", {}).get("holders", [])
    for h in holders:
        seen.add(h.get("domain"))
    return check(len(holders) <= 1 and all(h.get("domain") == lease_key for h in holders),
                 "leases held: %s (expected at most one, %s)" % (holders, lease_key))


# ---- 1. the stack is up: 3 live workers, the estimate meter, a complete sandbox --------------
deadline = time.monotonic() + 120
health = {}
while time.monotonic() < deadline:
    try:
        health = get_json("/api/v1/health")
        w = health.get("checks", {}).get("workers", {})
        if w.get("live") == 3 and w.get("measuring") == 3:
            break
    except (OSError, RuntimeError, ValueError):
        pass
    time.sleep(1)
checks = health.get("checks", {})
if not check(checks.get("workers", {}).get("live") == 3,
             "3 live workers expected within 120 s; health: %s" % json.dumps(health)):
    finish()
check(checks.get("meters") == ["estimate"], "meters %s: expected the estimate meter (no RAPL here)"
      % checks.get("meters"))
check(checks.get("sandbox", {}).get("missing") == [],
      "the workers' boxes lack %s in their containers" % checks.get("sandbox", {}).get("missing"))
say("stack up: health %s, 3 live workers, sandbox complete" % health.get("status"))

# ---- 2. the box inside a container ------------------------------------------------------------
status, text = http("POST", "/api/v1/validate", PROBE, timeout=60)
ok = status == 200 and json.loads(text).get("validation", {}).get("is_correct") is True
check(ok, "sandbox probe in a worker container: %d %s" % (status, text[:600]))
if ok:
    say("sandbox probe: not root, no network, no container files, own pid namespace, no caps")

# ---- 3. 20 jobs -------------------------------------------------------------------------------
tasks = []
for i in range(JOBS):
    status, text = http("POST", "/api/v1/measure-socket0", JOB,
                        headers={"Idempotency-Key": "compose-e2e-%d-%d" % (int(start), i)})
    if not check(status == 202, "job %d: %d %s" % (i, status, text[:300])):
        finish()
    tasks.append(json.loads(text)["task_id"])
say("%d jobs accepted" % len(tasks))

# ---- 4. kill the worker that measures ----------------------------------------------------------
domains = set()
victim_task = victim_worker = victim_container = None
deadline = time.monotonic() + 120
while victim_task is None and time.monotonic() < deadline:
    for t in tasks:
        rec = get_json("/api/v1/tasks/" + t)
        if rec.get("status") == "measuring" and rec.get("stage") in ("warmup", "measuring"):
            victim_task, victim_worker = t, rec.get("worker")
            break
    leases_ok(domains)
    time.sleep(0.2)
if not check(victim_task is not None, "no task reached measuring within 120 s"):
    finish()
ids = run(*compose, "ps", "-q", "worker").stdout.split()
for c in ids:
    logs = run("docker", "logs", c)
    if re.search(r"worker %s ready" % re.escape(victim_worker), logs.stdout + logs.stderr):
        victim_container = c
        break
if not check(victim_container is not None, "no container runs worker %s" % victim_worker):
    finish()
r = run("docker", "kill", victim_container)
check(r.returncode == 0, "docker kill %s: %s" % (victim_container, r.stderr))
say("killed container %s (worker %s) while it measured task %s"
    % (victim_container[:12], victim_worker, victim_task))

# ---- 5. scale to 1 -----------------------------------------------------------------------------
t0 = time.monotonic()
r = run(*compose, "up", "-d", "--no-build", "--no-recreate", "--scale", "worker=1")
check(r.returncode == 0, "scale to 1: %s" % r.stderr[-600:])
running = run(*compose, "ps", "-q", "worker").stdout.split()
say("scaled to 1 worker in %.1f s (%d worker container(s) left)" % (time.monotonic() - t0,
                                                                     len(running)))
check(len(running) == 1, "after scaling to 1: %d worker containers" % len(running))

# ---- 6. every job ends, completed, once ----------------------------------------------------------
final = {}
deadline = time.monotonic() + 600
last = 0
while len(final) < len(tasks) and time.monotonic() < deadline:
    for t in tasks:
        if t in final:
            continue
        rec = get_json("/api/v1/tasks/" + t)
        if rec.get("status") in ("completed", "failed", "cancelled"):
            final[t] = rec
    leases_ok(domains)
    if time.monotonic() - last > 15:
        last = time.monotonic()
        say("%d of %d jobs ended" % (len(final), len(tasks)))
    time.sleep(1)
check(len(final) == len(tasks), "%d of %d jobs never ended within 600 s: %s"
      % (len(tasks) - len(final), len(tasks), [t for t in tasks if t not in final]))
for t, rec in final.items():
    env = rec.get("measurement_environment") or {}
    check(rec.get("status") == "completed", "task %s ended %s: %s %s" % (
        t, rec.get("status"), rec.get("error_type"), rec.get("error")))
    if rec.get("status") == "completed":
        check((rec.get("validation") or {}).get("is_correct") is True, "task %s: not correct" % t)
        check(env.get("energy_is_estimated") is True, "task %s: energy_is_estimated is not true" % t)
        check(len(rec.get("trials") or []) >= 1, "task %s: no trials" % t)
v = final.get(victim_task, {})
check(v.get("worker") not in (None, victim_worker),
      "the killed task %s was completed by %s, the killed worker" % (victim_task, v.get("worker")))
say("all ended; the killed task %s was completed by %s" % (victim_task, v.get("worker")))

# Exactly once: the gateway counts the result messages it sees (one per final record stored,
# docs/bus.md "Order of writes"); a job completed twice would count twice.
metrics = http("GET", "/metrics")[1]


def metric(name):
    m = re.search(r"^%s (\d+)" % re.escape(name), metrics, re.M)
    return int(m.group(1)) if m else None


completed = metric('jouletrace_tasks_total{outcome="completed"}')
check(completed == JOBS, "the gateway saw %s completed results for %d jobs" % (completed, JOBS))
check(metric('jouletrace_tasks_total{outcome="failed"}') == 0, "failed results were published")
check(metric("jouletrace_tasks_submitted_total") == JOBS, "tasks_submitted_total is not %d" % JOBS)
check(domains <= {lease_key}, "lease keys seen: %s" % sorted(domains))
check(lease_key in domains, "the lease %s was never seen held" % lease_key)
check(metric("jouletrace_pending_jobs") == 0, "jobs left in the queue: %s"
      % metric("jouletrace_pending_jobs"))
say("exactly once: %s completed results for %d jobs, lease key %s only" % (completed, JOBS,
                                                                           lease_key))
finish()
