# check_compose.py -- static checks of compose/docker-compose.yml and compose/Dockerfile (no Docker engine needed).
#
# Usage: /usr/bin/python3 tests/check_compose.py REPO_ROOT [NATS_SERVER]
# Needs python3-yaml. With NATS_SERVER, the nats service's exact command line is also checked
# with `nats-server ... -t`; where docker-compose is installed, `docker-compose -f
# compose/docker-compose.yml config` must accept the file. Rules: only keys both docker-compose
# 1.29 and Compose v2 accept; nothing privileged, cap_drop ALL everywhere and exactly the
# sandbox's capabilities on the worker, each explained in docs/security.md and README.md; the
# worker's JOULETRACE_LEASE_HOST set and equal to its hostname; a root .dockerignore that
# excludes build trees, var/ and .git but no COPY source. Prints every problem found; exit
# status 1 when there is any.
import fnmatch
import os
import re
import shutil
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
wcmd = " ".join(words(worker.get("entrypoint")) + words(worker.get("command")))
check(re.search(r"jouletrace-worker\s+run\b", wcmd), "worker: command is not jouletrace-worker run")
check(words(worker.get("entrypoint")) == ["jouletrace-worker-entry"],
      "worker: entrypoint is not jouletrace-worker-entry (cgroup, meter, unique worker id)")
check(str(worker.get("cpuset", "")).strip() == "" or re.fullmatch(r"[0-9,-]+", str(worker["cpuset"])),
      "worker: cpuset %r is not a CPU list" % worker.get("cpuset"))
check("container_name" not in worker, "worker: container_name prevents --scale")
check(not worker.get("ports"), "worker: published ports prevent --scale")
check("uts" not in worker and worker.get("network_mode") != "host" and worker.get("pid") != "host",
      "worker: shares a namespace of the host (uts, network_mode or pid)")
wenv = worker.get("environment") or {}
if isinstance(wenv, list):
    wenv = dict(e.split("=", 1) for e in wenv if "=" in e)
check("nats:4222" in str(wenv.get("JOULETRACE_NATS_URL", "")), "worker: JOULETRACE_NATS_URL is not nats:4222")
lease_host = str(wenv.get("JOULETRACE_LEASE_HOST") or "")
check(re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,94}", lease_host),
      "worker: JOULETRACE_LEASE_HOST %r is not set to a host name (replicas must share the "
      "measurement lease by it)" % lease_host)
check(str(worker.get("hostname") or "") == lease_host,
      "worker: hostname %r is not JOULETRACE_LEASE_HOST %r (the calibration file records the host "
      "name)" % (worker.get("hostname"), lease_host))
cal = str(wenv.get("JOULETRACE_CALIBRATION") or "")
check(cal.startswith("/") and any(cal.startswith(m.split(":")[1] + "/") for m in mounts(worker)),
      "worker: JOULETRACE_CALIBRATION %r is not on a volume" % cal)
check(any(m.split(":")[1:2] == ["/run/jouletrace"] for m in mounts(worker)),
      "worker: /run/jouletrace (the host-wide box slots) is not mounted")
check("WORKER_ID" not in wenv or "$" in str(wenv["WORKER_ID"]),
      "worker: a fixed JOULETRACE_WORKER_ID would collide across replicas")

# Least privilege: nothing privileged, every capability dropped but the sandbox's, each one
# explained in docs/security.md and README "Containers".
WORKER_CAPS = {"SYS_ADMIN", "SETUID", "SETGID", "SETPCAP", "KILL", "CHOWN", "DAC_OVERRIDE"}
with open(os.path.join(root, "docs", "security.md")) as f:
    security_md = f.read()
with open(os.path.join(root, "README.md")) as f:
    readme = f.read()
for name, svc in services.items():
    if not isinstance(svc, dict):
        continue
    check(svc.get("privileged") is not True, "%s: privileged (grant capabilities with cap_add)" % name)
    check([str(c).upper() for c in svc.get("cap_drop") or []] == ["ALL"],
          "%s: cap_drop is not [ALL]" % name)
    for m in mounts(svc):
        parts = m.split(":")
        if len(parts) > 1 and (parts[1] == "/sys" or parts[1].startswith("/sys/")):
            check(parts[2:3] == ["ro"], "%s: %s is mounted writable" % (name, parts[1]))
    if name != "worker":
        check(not svc.get("cap_add"), "%s: cap_add %s (only the worker's sandbox needs any)"
              % (name, svc.get("cap_add")))
caps = {str(c).upper().replace("CAP_", "") for c in worker.get("cap_add") or []}
check(caps == WORKER_CAPS, "worker: cap_add %s, expected exactly %s (the sandbox's needs, "
      "docs/security.md)" % (sorted(caps), sorted(WORKER_CAPS)))
for c in sorted(caps):
    named = re.compile(r"`(CAP_)?%s`" % c)
    check(named.search(security_md) and named.search(readme),
          "worker: capability `%s` is not explained in docs/security.md and README.md" % c)
opts = [str(o) for o in worker.get("security_opt") or []]
for o in opts:
    check(re.fullmatch(r"(seccomp|apparmor)=\S+|no-new-privileges(:true)?|label=\S+", o),
          "worker: security_opt %r is not one the README explains" % o)
    if o.startswith(("seccomp=", "apparmor=")):
        check(o in security_md and o in readme,
              "worker: %s is not explained in docs/security.md and README.md" % o)

# Keys both docker-compose 1.29 (Debian 12) and Compose v2 accept: 1.29's schema
# (compose/config/compose_spec.json of docker-compose 1.29.2) has no `name`, `include`, `uts`,
# `develop`, `cgroup`, `post_start`, ...
TOP_KEYS = {"version", "services", "networks", "volumes", "secrets", "configs"}
SERVICE_KEYS = set("""blkio_config build cap_add cap_drop cgroup_parent command configs
container_name cpu_count cpu_percent cpu_period cpu_quota cpu_rt_period cpu_rt_runtime
cpu_shares cpus cpuset credential_spec depends_on deploy device_cgroup_rules devices dns dns_opt
dns_search domainname entrypoint env_file environment expose extends external_links extra_hosts
group_add healthcheck hostname image init ipc isolation labels links logging mac_address
mem_limit mem_reservation mem_swappiness memswap_limit network_mode networks oom_kill_disable
oom_score_adj pid pids_limit platform ports privileged profiles pull_policy read_only restart
runtime scale secrets security_opt shm_size stdin_open stop_grace_period stop_signal storage_opt
sysctls tmpfs tty ulimits user userns_mode volumes volumes_from working_dir""".split())
for k in raw if isinstance(raw, dict) else {}:
    check(k in TOP_KEYS or str(k).startswith("x-"),
          "top-level key %r: docker-compose 1.29 rejects it (Compose v2 only)" % k)
for name, svc in services.items():
    for k in svc if isinstance(svc, dict) else {}:
        check(k in SERVICE_KEYS or str(k).startswith("x-"),
              "%s: key %r: docker-compose 1.29 rejects it (Compose v2 only)" % (name, k))

# The build context is the repository root: the legacy builder reads only its .dockerignore,
# BuildKit would prefer compose/Dockerfile.dockerignore (which must not exist, or the two differ).
ignore_path = os.path.join(root, ".dockerignore")
ignored = []
if check(os.path.isfile(ignore_path), ".dockerignore is missing at the repository root"):
    with open(ignore_path) as f:
        ignored = [l.strip().rstrip("/") for l in f if l.strip() and not l.startswith("#")]
    for must in (".git", "build", "build-*", "var"):
        check(must in ignored, ".dockerignore does not exclude %s" % must)
check(not os.path.exists(os.path.join(root, "compose", "Dockerfile.dockerignore")),
      "compose/Dockerfile.dockerignore exists: BuildKit would read it instead of .dockerignore")
for script in ("base-image", "worker-entry"):
    p = os.path.join(root, "compose", script)
    check(os.path.isfile(p) and os.access(p, os.X_OK), "compose/%s is missing or not executable"
          % script)

def excluded(path):
    """Whether .dockerignore leaves path out: the last pattern that matches it decides, and a
    pattern starting with ! takes it back in (Docker's rule)."""
    out = False
    for pat in ignored:
        neg = pat.startswith("!")
        p = pat[1:] if neg else pat
        if fnmatch.fnmatch(path, p) or path.startswith(p + "/"):
            out = not neg
    return out


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
            check(not excluded(src.rstrip("/")),
                  "Dockerfile: COPY source %s is excluded by .dockerignore" % src)
text = "\n".join(lines)
for b in ("jouletrace-gateway", "jouletrace-worker", "jouletrace-runner"):
    check(b in text, "Dockerfile: %s is not installed" % b)
check(re.search(r"^COPY compose/worker-entry /usr/local/bin/jouletrace-worker-entry$", text, re.M),
      "Dockerfile: compose/worker-entry is not installed as jouletrace-worker-entry")
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

# ---- docker-compose itself (Debian 12's 1.29), where it is installed -------------------------
compose_version = None
docker_compose = shutil.which("docker-compose")
if docker_compose and not problems:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("JOULETRACE_", "COMPOSE_")) and k != "BASE_IMAGE"}
    r = subprocess.run([docker_compose, "-f", compose_path, "config", "-q"], cwd=root, env=env,
                       capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, "`docker-compose -f compose/docker-compose.yml config` rejects it: %s"
          % (r.stdout + r.stderr).strip())
    v = subprocess.run([docker_compose, "version", "--short"], env=env, capture_output=True,
                       text=True, timeout=60)
    compose_version = v.stdout.strip() or "unknown"

for p in problems:
    print("FAIL: " + p)
if problems:
    sys.exit(1)
print("compose/docker-compose.yml and compose/Dockerfile: %d services, all checks passed%s"
      % (len(services), "; docker-compose %s accepts it" % compose_version if compose_version
         else "; docker-compose is not installed: its own check skipped"))
