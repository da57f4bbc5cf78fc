#!/usr/bin/env bash
# check_compose_e2e.sh -- compose/ end to end on a real Docker engine: 3 workers, 20 jobs, a worker killed mid-measurement, scaled to 1, every job completed once, nothing left behind.
#
# Usage (root): tests/check_compose_e2e.sh REPO_ROOT
#
# 1. Installs docker.io, docker-compose and debootstrap with apt when missing; starts dockerd
#    when no engine answers, and stops exactly that dockerd (and its containerd) at the end,
#    also on failure, SIGINT, SIGTERM or SIGHUP.
# 2. Makes the base image when the engine lacks it (compose/base-image: pulled, or debootstrap),
#    then builds the JouleTrace image with docker-compose, tagged jouletrace-e2e:<hash of the
#    Dockerfile's inputs and the base image>; an image of the same inputs is reused, older
#    jouletrace-e2e images are removed. Both stay for the next run.
# 3. `up --scale worker=3` as a project of its own (-p jte2e<random>) on free 127.0.0.1 ports,
#    with JOULETRACE_LEASE_HOST=<project>; tests/compose_e2e_jobs.py then submits 20 jobs over
#    HTTP, `docker kill`s the worker found measuring, scales to 1 and checks that every job
#    completed exactly once, under one lease key.
# 4. `down -v`, then checks that no container, network or volume of the project is left.
# Only 127.0.0.1 ports are used. Prints the time of each step. Exit status 0 passed, 1 failed,
# 77 skipped (not root; or JT_SKIP_COMPOSE_E2E=1 outside CI). JT_COMPOSE_E2E_SECONDS (1380) bounds
# the whole run, below the ctest TIMEOUT, so that the cleanup always runs.
set -uo pipefail
root=$(cd "$1" && pwd)
t_start=$SECONDS
deadline=$((SECONDS + ${JT_COMPOSE_E2E_SECONDS:-1380}))

say() { printf '[%4d s] %s\n' $((SECONDS - t_start)) "$*"; }
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
left() { echo $((deadline - SECONDS)); }
# Runs "$@" with what is left of the deadline; fails when nothing is left. In the background,
# waited for: a signal to this script runs the cleanup at once, which stops the command.
child=""
bounded() {
  local s rc
  s=$(left)
  [ "$s" -gt 0 ] || fail "out of time (JT_COMPOSE_E2E_SECONDS) before: $*"
  timeout "$s" "$@" &
  child=$!
  wait "$child"
  rc=$?
  child=""
  return "$rc"
}

if [ "$(id -u)" -ne 0 ]; then
  [ "${CI:-}" = true ] && fail "needs root (installs packages, runs dockerd)"
  echo "SKIP: needs root (installs packages, runs dockerd)"
  exit 77
fi
if [ "${JT_SKIP_COMPOSE_E2E:-}" = 1 ] && [ "${CI:-}" != true ]; then
  echo "SKIP: JT_SKIP_COMPOSE_E2E=1"
  exit 77
fi

tmp=$(mktemp -d /tmp/jt-compose-e2e.XXXXXX)
proj=jte2e$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
compose=(docker-compose -f "$root/compose/docker-compose.yml" -p "$proj")
dockerd_pid="" dockerd_children="" stack_up=0

# The project's containers, networks and volumes, by compose's label and by name.
project_leftovers() {
  {
    docker ps -aq --filter "label=com.docker.compose.project=$proj"
    docker ps -aq --filter "name=${proj}_"
    docker network ls -q --filter "label=com.docker.compose.project=$proj"
    docker network ls -q --filter "name=${proj}_"
    docker volume ls -q --filter "label=com.docker.compose.project=$proj"
    docker volume ls -q --filter "name=${proj}_"
  } 2>/dev/null | sort -u
}

stop_dockerd() {
  local p
  [ -n "$dockerd_pid" ] || return 0
  kill -TERM "$dockerd_pid" 2>/dev/null
  for _ in $(seq 300); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$dockerd_pid" 2>/dev/null
  wait "$dockerd_pid" 2>/dev/null
  # dockerd stops the containerd it started; one a SIGKILL left behind goes now
  for p in $dockerd_children; do
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = containerd ] && kill -KILL "$p" 2>/dev/null
  done
  say "stopped the dockerd this test started (pid $dockerd_pid)"
  dockerd_pid=""
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  if [ -n "$child" ]; then
    kill -TERM "$child" 2>/dev/null
    wait "$child" 2>/dev/null
  fi
  if [ "$stack_up" = 1 ]; then
    if [ "$rc" -ne 0 ]; then
      echo "--- last log lines of the stack" >&2
      timeout 60 "${compose[@]}" logs --no-color --tail 40 >&2 2>&1
    fi
    timeout 180 "${compose[@]}" down -v --remove-orphans -t 10 >"$tmp/down.log" 2>&1 ||
      cat "$tmp/down.log" >&2
    # whatever down could not remove (a hung engine call), by id
    project_leftovers | while read -r id; do
      docker rm -f "$id" >/dev/null 2>&1 || docker network rm "$id" >/dev/null 2>&1 ||
        docker volume rm -f "$id" >/dev/null 2>&1
    done
  fi
  if [ -n "$dockerd_pid" ] && [ "$rc" -ne 0 ]; then
    echo "--- dockerd log" >&2
    tail -n 20 "$tmp/dockerd.log" >&2
  fi
  stop_dockerd
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---- 1. packages and engine -----------------------------------------------------------------
need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  t=$SECONDS
  export DEBIAN_FRONTEND=noninteractive
  if ! bounded apt-get install -y -q "${need[@]}" >"$tmp/apt.log" 2>&1; then
    bounded apt-get update -q >>"$tmp/apt.log" 2>&1
    bounded apt-get install -y -q "${need[@]}" >>"$tmp/apt.log" 2>&1 ||
      { tail -n 20 "$tmp/apt.log" >&2; fail "apt-get install ${need[*]} failed"; }
  fi
  say "installed ${need[*]} in $((SECONDS - t)) s"
fi

if timeout 20 docker info >/dev/null 2>&1; then
  say "using the running Docker engine"
else
  # dockerd needs the cgroup hierarchies; hosts without systemd get them from cgroupfs-mount
  if ! [ -e /sys/fs/cgroup/cgroup.controllers ] && ! [ -d /sys/fs/cgroup/memory ] &&
    command -v cgroupfs-mount >/dev/null; then
    cgroupfs-mount
  fi
  # its own session: a ^C to this test reaches dockerd only through the cleanup
  setsid dockerd >"$tmp/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 120); do
    timeout 5 docker info >/dev/null 2>&1 && break
    kill -0 "$dockerd_pid" 2>/dev/null || fail "dockerd exited at start: $(tail -n 5 "$tmp/dockerd.log")"
    sleep 0.5
  done
  timeout 5 docker info >/dev/null 2>&1 || fail "dockerd (pid $dockerd_pid) does not answer after 60 s"
  dockerd_children=$(pgrep -P "$dockerd_pid" | tr '\n' ' ')
  say "started dockerd (pid $dockerd_pid): $(docker version -f '{{.Server.Version}}' 2>/dev/null)"
fi
say "docker-compose $(docker-compose version --short 2>/dev/null)"

# ---- 2. images ---------------------------------------------------------------------------------
base=${BASE_IMAGE:-debian:bookworm-slim}
if ! docker image inspect "$base" >/dev/null 2>&1; then
  t=$SECONDS
  bounded "$root/compose/base-image" "$base" || fail "compose/base-image $base failed"
  say "base image $base made in $((SECONDS - t)) s"
fi
# The Dockerfile's inputs: its COPY sources (globs expanded here), itself, .dockerignore.
mapfile -t sources < <(cd "$root" && awk '$1 == "COPY" && $2 !~ /^--/ { for (i = 2; i < NF; i++) print $i }' compose/Dockerfile)
hash=$(
  cd "$root" || exit 1
  docker image inspect -f '{{.Id}}' "$base"
  # shellcheck disable=SC2068 # the COPY sources are globs
  find ${sources[@]} compose/Dockerfile .dockerignore -type f -print0 | sort -z | xargs -0 sha256sum
)
image=jouletrace-e2e:$(printf '%s' "$hash" | sha256sum | cut -c1-16)
export JOULETRACE_IMAGE=$image BASE_IMAGE=$base
# Inside `docker build` this machine's npm registry traffic meets a TLS proxy whose CA the
# image lacks: the test image is built without the dashboard (the browser tests cover it).
export JOULETRACE_DASHBOARD=${JOULETRACE_DASHBOARD:-OFF}
if docker image inspect "$image" >/dev/null 2>&1; then
  say "reusing $image (the Dockerfile's inputs did not change)"
else
  t=$SECONDS
  bounded "${compose[@]}" build worker >"$tmp/build.log" 2>&1 ||
    { tail -n 40 "$tmp/build.log" >&2; fail "docker-compose build failed"; }
  say "built $image with docker-compose in $((SECONDS - t)) s"
  docker images --format '{{.Repository}}:{{.Tag}}' jouletrace-e2e | grep -vxF "$image" |
    xargs -r docker rmi >/dev/null 2>&1
fi

# ---- 3. the stack --------------------------------------------------------------------------------
# The compose file's host settings, from this test only.
unset JOULETRACE_CPUSET JOULETRACE_MEASURE_CORE JOULETRACE_VALIDATE_CORE JOULETRACE_METER \
  JOULETRACE_SECCOMP JOULETRACE_APPARMOR JOULETRACE_SLOTS_DIR JOULETRACE_API_TOKENS \
  JOULETRACE_LOG_LEVEL COMPOSE_PROJECT_NAME COMPOSE_FILE
read -r http_port nats_port < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s:
    x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))')
export JOULETRACE_HTTP_PORT=$http_port JOULETRACE_NATS_PORT=$nats_port
export JOULETRACE_LEASE_HOST=e2e-$proj
t=$SECONDS
stack_up=1
bounded "${compose[@]}" up -d --no-build --scale worker=3 >"$tmp/up.log" 2>&1 ||
  { cat "$tmp/up.log" >&2; fail "up --scale worker=3 failed"; }
say "project $proj up with 3 workers in $((SECONDS - t)) s (gateway 127.0.0.1:$http_port)"

# ---- 4. jobs, a killed worker, scaled to 1 ---------------------------------------------------------
t=$SECONDS
bounded python3 "$root/tests/compose_e2e_jobs.py" "http://127.0.0.1:$http_port" \
  "$JOULETRACE_LEASE_HOST" "${compose[@]}" || fail "the job phase failed (above)"
say "job phase passed in $((SECONDS - t)) s"

# ---- 5. down -v leaves nothing -------------------------------------------------------------------
t=$SECONDS
bounded "${compose[@]}" down -v --remove-orphans -t 30 >"$tmp/down.log" 2>&1 ||
  { cat "$tmp/down.log" >&2; fail "down -v failed"; }
leftovers=$(project_leftovers)
[ -z "$leftovers" ] || fail "down -v left these of project $proj: ${leftovers//$'\n'/ }"
stack_up=0
say "down -v in $((SECONDS - t)) s: no container, network or volume of $proj left"
say "compose end to end passed in $((SECONDS - t_start)) s"
