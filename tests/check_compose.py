# check_compose.py -- static checks of compose/docker-compose.yml and compose/Dockerfile (no Docker engine needed).
#
# Usage: /usr/bin/python3 tests/check_compose.py REPO_ROOT [NATS_SERVER]
# Needs python3-yaml. With NATS_SERVER, the nats service's exact command line is also checked
# with `nats-server ... -t`. Prints every problem found; exit status 1 when there is any.
import os
import re
import subprocess
import sys
import tempfile

import yaml

root = sys.argv[1]
nats_server = sys.argv[2] if len(sys.argv) > 2 else None
problems = []


def check(cond, message):
    if not cond:
        problems.append(message)
    return cond


def interpolate(value):
    """Compose's ${VAR:-default} with every variable unset, and $$ -> $."""
    if isinstance(value, str):
        value = re.sub(r"(?<!\$)\$\{[A-Za-z_][A-Za-z0-9_]*:-([^}]*)\}", r"\1", value)
        return value.replace("$$", "$")
    if isinstance(value, list):
        return [interpolate(v) for v in value]
    if isinstance(value, dict):
        return {k: interpolate(v) for k, v in value.items()}
    return value


def words(command):
    if isinstance(command, list):
        return [str(w) for w in command]
    return str(command or "").split()


def mounts(service):
    out = []
    for v in service.get("volumes") or []:
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, dict):
            s = "%s:%s" % (v.get("source"), v.get("target"))
            out.append(s + (":ro" if v.get("read_only") else ""))
    return out


compose_path = os.path.join(root, "compose", "docker-compose.yml")
dockerfile_path = os.path.join(root, "compose", "Dockerfile")

# ---- docker-compose.yml ------------------------------------------------------------------
try:
    with open(compose_path) as f:
        raw = yaml.safe_load(f)
except Exception as e:  # the whole point: report the YAML error itself
    print("compose/docker-compose.yml does not parse as YAML: %s" % e)
    sys.exit(1)
check(isinstance(raw, dict), "docker-compose.yml: top level is not a mapping")
doc = interpolate(raw if isinstance(raw, dict) else {})
services = doc.get("services") or {}
for name in ("nats", "gateway", "worker"):
    check(isinstance(services.get(name), dict), "service %s is missing" % name)

for name, svc in services.items():
    if not isinstance(svc, dict):
        continue
    build = svc.get("build")
    check(build is not None or svc.get("image"), "%s: neither build nor image" % name)
    if isinstance(build, dict):
        ctx = os.path.normpath(os.path.join(root, "compose", build.get("context", ".")))
        check(ctx == os.path.normpath(root), "%s: build context is not the repository root" % name)
        df = os.path.join(ctx, build.get("dockerfile", "Dockerfile"))
        check(os.path.isfile(df), "%s: dockerfile %s does not exist" % (name, df))
        check("BASE_IMAGE" in (build.get("args") or {}), "%s: build does not pass BASE_IMAGE" % name)
    for p in svc.get("ports") or []:
        check(str(p).startswith("127.0.0.1:"), "%s: port %s is published beyond 127.0.0.1" % (name, p))
    for m in mounts(svc):
        src = m.split(":")[0]
        if src.startswith("."):
            check(os.path.exists(os.path.join(root, "compose", src)) or src.endswith("config"),
                  "%s: bind mount source %s does not exist" % (name, src))

nats = services.get("nats") or {}
cmd = words(nats.get("command"))
check(cmd[:1] == ["nats-server"], "nats: command does not start nats-server")
check("-c" in cmd, "nats: no -c config file")
env = nats.get("environment") or {}
if isinstance(env, list):
    env = dict(e.split("=", 1) for e in env if "=" in e)
js_dir = env.get("JOULETRACE_JETSTREAM_DIR")
check(js_dir, "nats: JOULETRACE_JETSTREAM_DIR is not set (nats-server.conf needs it)")
check(any(m.split(":")[1:2] == [js_dir] for m in mounts(nats)),
      "nats: the JetStream directory %s is not on a volume" % js_dir)
check("jetstream" in (doc.get("volumes") or {}), "top-level volume jetstream is missing")

gateway = services.get("gateway") or {}
check("jouletrace-gateway" in " ".join(words(gateway.get("command"))),
      "gateway: command is not jouletrace-gateway")
genv = gateway.get("environment") or {}
check("nats:4222" in str(genv.get("JOULETRACE_NATS_URL", "")), "gateway: JOULETRACE_NATS_URL is not nats:4222")
check(str(genv.get("JOULETRACE_HTTP_ADDR", "")).startswith("0.0.0.0:"),
      "gateway: JOULETRACE_HTTP_ADDR must listen on 0.0.0.0 inside its container")

worker = services.get("worker") or {}
wcmd = " ".join(words(worker.get("command")))
check(re.search(r"jouletrace-worker\s+run\b", wcmd), "worker: command is not jouletrace-worker run")
check(worker.get("privileged") is True, "worker: not privileged")
check("/sys:/sys:ro" in mounts(worker), "worker: /sys:/sys:ro is not mounted")
check(str(worker.get("cpuset") or "").strip() != "", "worker: no cpuset")
check("container_name" not in worker, "worker: container_name prevents --scale")
check(not worker.get("ports"), "worker: published ports prevent --scale")
check("hostname" not in worker or worker.get("uts") is None,
      "worker: hostname and uts: host together")
check(worker.get("uts") == "host",
      "worker: uts: host missing (replicas would take different measurement leases)")
wenv = worker.get("environment") or {}
check("nats:4222" in str(wenv.get("JOULETRACE_NATS_URL", "")), "worker: JOULETRACE_NATS_URL is not nats:4222")
check("WORKER_ID" in wcmd and "random" in wcmd, "worker: replicas need a unique JOULETRACE_WORKER_ID")

# ---- Dockerfile --------------------------------------------------------------------------
with open(dockerfile_path) as f:
    lines = [l.strip() for l in f]
first_from = next((i for i, l in enumerate(lines) if l.upper().startswith("FROM ")), None)
arg_line = next((i for i, l in enumerate(lines) if l == "ARG BASE_IMAGE=debian:bookworm-slim"), None)
check(arg_line is not None, "Dockerfile: no line `ARG BASE_IMAGE=debian:bookworm-slim`")
check(arg_line is not None and first_from is not None and arg_line < first_from,
      "Dockerfile: ARG BASE_IMAGE must come before the first FROM")
froms = [l for l in lines if l.upper().startswith("FROM ")]
check(len(froms) >= 2, "Dockerfile: not multi-stage")
check(all("${BASE_IMAGE}" in l for l in froms), "Dockerfile: every stage must start FROM ${BASE_IMAGE}")
check(not any(l.upper().startswith("ENTRYPOINT") for l in lines),
      "Dockerfile: an ENTRYPOINT would break the per-service commands")
for l in lines:
    if l.upper().startswith("COPY ") and "--from=" not in l:
        for src in l.split()[1:-1]:
            if src.startswith("--"):
                continue
            pattern = os.path.join(root, src.rstrip("/"))
            exists = os.path.exists(pattern) or (
                "*" in src and os.path.isdir(os.path.dirname(pattern))
                and any(re.fullmatch(os.path.basename(pattern).replace(".", r"\.").replace("*", ".*"), n)
                        for n in os.listdir(os.path.dirname(pattern))))
            check(exists, "Dockerfile: COPY source %s does not exist" % src)
text = "\n".join(lines)
for b in ("jouletrace-gateway", "jouletrace-worker", "jouletrace-runner"):
    check(b in text, "Dockerfile: %s is not installed" % b)
config_path = None
if "-c" in cmd and cmd.index("-c") + 1 < len(cmd):
    config_path = cmd[cmd.index("-c") + 1]
    check(config_path.startswith("/opt/jouletrace/broker/"),
          "nats: config %s is not one of the image's broker configs" % config_path)

# ---- the nats service's command line, checked by nats-server itself ------------------------
if nats_server and config_path and not problems:
    local = os.path.join(root, "broker", os.path.relpath(config_path, "/opt/jouletrace/broker"))
    args = [nats_server] + [local if a == config_path else a for a in cmd[1:]] + ["-t"]
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run(args, env=dict(os.environ, JOULETRACE_JETSTREAM_DIR=d),
                           capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, "nats-server rejects the nats service's command %s: %s"
          % (" ".join(args), (r.stdout + r.stderr).strip()))

for p in problems:
    print("FAIL: " + p)
if problems:
    sys.exit(1)
print("compose/docker-compose.yml and compose/Dockerfile: %d services, all checks passed" % len(services))
