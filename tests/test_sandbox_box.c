/* test_sandbox_box.c -- the box through the real runner: slots, uids, namespaces, cgroup, the
 * watch.
 *
 * Each case spawns jouletrace-runner (JOULETRACE_RUNNER) as the worker does,
 * with JOULETRACE_SANDBOX_DIR set to a private directory so that its
 * processes can be found in /proc. The confinement cases need root (exit 77
 * otherwise, as the box's uids and namespaces do).
 */
#include "unit_main.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <sched.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <seccomp.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "cpu_busy.h"
#include "job_json.h"
#include "proc_scan.h"
#include "protocol.h"
#include "runner_client.h"
#include "temp_dir.h"
#include "validation.h"

typedef struct {
    char dir[128];
    char env_entry[160]; /* JOULETRACE_SANDBOX_DIR=<dir>: how the box's processes are found */
    jt_config_t cfg;
    jt_runner_t *runner; /* a case's runner, destroyed by teardown when the case failed */
} fixture_t;

static int setup(void **state)
{
    static fixture_t f;
    if (jt_temp_dir_make(f.dir, sizeof f.dir, "jt-box") < 0)
        return -1;
    snprintf(f.env_entry, sizeof f.env_entry, "JOULETRACE_SANDBOX_DIR=%s", f.dir);
    setenv("JOULETRACE_SANDBOX_DIR", f.dir, 1);
    jt_error_t err;
    if (jt_config_load(&f.cfg, &err) != JT_OK)
        return -1;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    jt_runner_destroy(f->runner); /* its box's cgroup goes with it */
    f->runner = NULL;
    jt_temp_dir_remove(f->dir);
    return 0;
}

static void need_root(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "skipped: the box's uids and namespaces need root\n");
        exit(77);
    }
}

/* Validate `code` (function f) on the inputs [1], [2], ... [n] with expected
 * outputs `expected` each, in *v (initialised here). */
static jt_status_t validate(jt_runner_t *r, const char *code, int n, const char *expected,
                            double timeout, jt_validation_t *v)
{
    char body[4096], tests[2048] = "";
    size_t used = 0;
    for (int i = 0; i < n; i++)
        used += (size_t)snprintf(tests + used, sizeof tests - used,
                                 "%s{\"inputs\": [%d], \"expected_output\": %s}", i ? ", " : "",
                                 i + 1, expected);
    snprintf(body, sizeof body,
             "{\"candidate_code\": \"%s\", \"function_name\": \"f\", \"test_cases\": [%s],"
             " \"timeout_seconds\": %g}",
             code, tests, timeout);
    jt_job_t job;
    jt_job_init(&job);
    jt_error_t err;
    assert_int_equal(jt_job_from_json(&job, body, strlen(body), &err), JT_OK);
    jt_validation_init(v);
    jt_status_t s = jt_runner_validate(r, &job, -1, v, &err);
    if (s != JT_OK)
        fprintf(stderr, "validate: %s\n", err.message);
    jt_job_cleanup(&job);
    return s;
}

/* The runner's box answers what it is: its uid, its pid, the pids it sees. */
static const char probe_code[] = "import os\\n"
                                 "def f(x):\\n"
                                 "    return [os.getuid(), os.getgid(), os.getpid(),"
                                 " sorted(int(p) for p in os.listdir('/proc') if p.isdigit())]\\n";

/* Two runners on one host hold two slots; each box runs as its slot's run
 * uid, as pid 2 of its own namespace (the supervisor is 1) and sees nothing
 * else; the report names every feature and a cgroup. */
static void two_runners_two_boxes(void **state)
{
    need_root();
    fixture_t *f = *state;
    jt_runner_t *a, *b;
    jt_error_t err;
    assert_int_equal(jt_runner_spawn(&f->cfg, &a, &err), JT_OK);
    assert_int_equal(jt_runner_spawn(&f->cfg, &b, &err), JT_OK);
    const jt_runner_box_t *boxes[2] = {jt_runner_box(a), jt_runner_box(b)};
    jt_runner_t *runners[2] = {a, b};
    assert_true(boxes[0]->slot >= 0 && boxes[1]->slot >= 0);
    assert_int_not_equal(boxes[0]->slot, boxes[1]->slot);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(boxes[i]->features, JT_BOX_ALL & ~JT_BOX_USER_NS); /* root needs none */
        assert_string_not_equal(boxes[i]->cgroup, "none");
        const char *missing[16];
        assert_int_equal(jt_runner_box_missing(boxes[i], missing, 16), 0);
        long uid = f->cfg.sandbox_uid_base + 2L * boxes[i]->slot + 1;
        char expected[128];
        snprintf(expected, sizeof expected, "[%ld, %ld, 2, [1, 2]]", uid, uid);
        jt_validation_t v;
        assert_int_equal(validate(runners[i], probe_code, 1, expected, 5, &v), JT_OK);
        if (!v.is_correct)
            fprintf(stderr, "box %d: %s\n", i, v.error_summary);
        assert_true(v.is_correct);
        jt_validation_cleanup(&v);
    }
    jt_runner_destroy(a);
    jt_runner_destroy(b);
}

typedef struct {
    jt_runner_t *runner;
    jt_validation_t v;
    jt_status_t status;
    double ended;
} validation_thread_t;

static const char sleepy_code[] = "import time\\n"
                                  "def f(x):\\n"
                                  "    time.sleep(0.4)\\n"
                                  "    return x\\n";

static void *validate_sleepy(void *arg)
{
    validation_thread_t *t = arg;
    t->status = validate(t->runner, sleepy_code, 8, "1", 1, &t->v);
    t->ended = jt_clock_now();
    return NULL;
}

/* The sandbox child (the runs' supervisor) of the runner, or 0. */
static pid_t find_supervisor(const fixture_t *f)
{
    jt_scan_proc_t procs[16];
    size_t n = jt_scan_env_procs(f->env_entry, procs, 16);
    for (size_t i = 0; i < n; i++)
        if (procs[i].ppid == getpid()) /* the runner */
            for (size_t j = 0; j < n; j++)
                if (procs[j].ppid == procs[i].pid)
                    return procs[j].pid;
    return 0;
}

/* A supervisor stopped from outside (what a run must never manage from
 * inside) is found by the runner's watch: the validation ends within 3 s
 * with the test in progress "timeout", the rest "not_run", and the runner
 * serves the next job. */
static void stopped_supervisor_ends_in_timeout(void **state)
{
    fixture_t *f = *state;
    validation_thread_t t = {0};
    jt_error_t err;
    assert_int_equal(jt_runner_spawn(&f->cfg, &t.runner, &err), JT_OK);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, validate_sleepy, &t), 0);
    usleep(700 * 1000); /* into the second test */
    pid_t supervisor = find_supervisor(f);
    assert_true(supervisor > 0);
    double stopped_at = jt_clock_now();
    assert_int_equal(kill(supervisor, SIGSTOP), 0);
    pthread_join(th, NULL);
    assert_int_equal(t.status, JT_OK);
    double took = t.ended - stopped_at;
    fprintf(stderr, "ended %.2f s after the stop\n", took);
    assert_true(took < 3.0);
    assert_false(t.v.is_correct);
    size_t timeouts = 0, not_run = 0;
    for (size_t i = 0; i < t.v.total_tests; i++) {
        timeouts += t.v.results[i].status == JT_TEST_TIMEOUT;
        not_run += t.v.results[i].status == JT_TEST_NOT_RUN;
        if (t.v.results[i].status == JT_TEST_TIMEOUT)
            assert_non_null(strstr(t.v.results[i].message, "stopped"));
    }
    assert_int_equal(timeouts, 1);
    assert_true(not_run >= 1);
    assert_true(kill(supervisor, 0) < 0); /* killed and reaped */
    jt_validation_cleanup(&t.v);

    jt_validation_t v;
    assert_int_equal(validate(t.runner, "def f(x):\\n    return x\\n", 2, "1", 5, &v), JT_OK);
    assert_int_equal(v.passed_tests, 1); /* inputs 1 and 2, expected 1 each */
    jt_validation_cleanup(&v);
    jt_runner_destroy(t.runner);
}

/* A runner for a forked child, or NULL with the reason on stderr. */
static jt_runner_t *child_runner(const fixture_t *f)
{
    jt_runner_t *r;
    jt_error_t err;
    if (jt_runner_spawn(&f->cfg, &r, &err) != JT_OK) {
        fprintf(stderr, "spawn: %s\n", err.message);
        return NULL;
    }
    return r;
}

/* Whether r's box finds the REST job `body` correct: 0, else 3 (the body
 * does not decode) or 4 (not validated, or not correct). */
static int child_validates(jt_runner_t *r, const char *body)
{
    jt_error_t err;
    jt_job_t job;
    jt_job_init(&job);
    int rc = jt_job_from_json(&job, body, strlen(body), &err) == JT_OK ? 0 : 3;
    jt_validation_t v;
    jt_validation_init(&v);
    if (rc == 0)
        rc = jt_runner_validate(r, &job, -1, &v, &err) == JT_OK && v.is_correct ? 0 : 4;
    jt_validation_cleanup(&v);
    jt_job_cleanup(&job);
    return rc;
}

/* In a forked child: spawn a runner, check that its box report has every
 * JT_BOX_* bit of `present`, names `missing` among what it lacks, and that
 * the box still validates a correct function. Returns the child's exit code:
 * 0 when all held, else the number of the failed check. */
static int degraded_box_child(const fixture_t *f, unsigned present, const char *missing_name)
{
    jt_runner_t *r = child_runner(f);
    if (r == NULL)
        return 1;
    const jt_runner_box_t *box = jt_runner_box(r);
    const char *missing[16];
    size_t n = jt_runner_box_missing(box, missing, 16);
    bool named = false;
    for (size_t i = 0; i < n; i++)
        named = named || strcmp(missing[i], missing_name) == 0;
    fprintf(stderr, "box: slot %d, features %#x, cgroup %s, %zu missing\n", box->slot,
            box->features, box->cgroup, n);
    if (!named || (box->features & present) != present)
        return 2;
    if (box->cpu_cgroup[0] != '\0') /* no cgroup, so nothing counts the box's CPU time */
        return 5;
    int rc = child_validates(r, "{\"candidate_code\": \"def f(x):\\n    return x + 1\\n\", "
                                "\"function_name\": \"f\", \"test_cases\": [{\"inputs\": [1], "
                                "\"expected_output\": 2}]}");
    jt_runner_destroy(r);
    return rc;
}

static int wait_child(pid_t pid)
{
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* A function that burns 0.2 s of its own CPU time, then returns 0. */
static const char burn_code[] = "import time\\n"
                                "def f(x):\\n"
                                "    end = time.process_time() + 0.2\\n"
                                "    while time.process_time() < end:\\n"
                                "        pass\\n"
                                "    return 0\\n";

/* The box's cgroup counts the box's CPU time (v2 cpu.stat, v1 cpuacct.usage,
 * what the estimate meter reads): the pong names the directory, a validation
 * that burns 0.2 s moves its count by at least that, and the directory goes
 * with the runner. */
static void box_counts_its_cpu_time(void **state)
{
    need_root();
    fixture_t *f = *state;
    jt_error_t err;
    assert_int_equal(jt_runner_spawn(&f->cfg, &f->runner, &err), JT_OK);
    const jt_runner_box_t *box = jt_runner_box(f->runner);
    char dir[sizeof box->cpu_cgroup];
    snprintf(dir, sizeof dir, "%s", box->cpu_cgroup);
    fprintf(stderr, "box: slot %d, cgroup %s, cpu_cgroup '%s'\n", box->slot, box->cgroup, dir);
    if (strcmp(box->cgroup, "none") == 0 ||
        (access("/sys/fs/cgroup/cgroup.controllers", F_OK) != 0 &&
         access("/sys/fs/cgroup/cpuacct/cpuacct.usage", F_OK) != 0)) {
        fprintf(stderr, "skipped: no cgroup, or cgroup v1 without cpuacct, on this host\n");
        jt_runner_destroy(f->runner);
        exit(77);
    }
    assert_non_null(strstr(dir, "/jouletrace/slot-"));
    jt_cpu_busy_t b;
    uint64_t before, after;
    assert_int_equal(jt_cpu_busy_init_cgroup(&b, dir, &err), JT_OK);
    assert_int_equal(jt_cpu_busy_read(&b, &before, &err), JT_OK);
    jt_validation_t v;
    assert_int_equal(validate(f->runner, burn_code, 1, "0", 10, &v), JT_OK);
    assert_true(v.is_correct);
    jt_validation_cleanup(&v);
    assert_int_equal(jt_cpu_busy_read(&b, &after, &err), JT_OK);
    fprintf(stderr, "%s: %.3f s of CPU during a validation that burnt 0.2 s\n",
            jt_cpu_busy_source_name(b.source), (double)(after - before) * 1e-9);
    assert_true(after - before >= 200000000u && after - before < 5000000000u);
    jt_runner_destroy(f->runner);
    f->runner = NULL;
    assert_int_not_equal(access(dir, F_OK), 0);
}

/* A host without cgroups (here: an empty /sys/fs/cgroup in a mount
 * namespace of the runner's own): the box runs with its rlimits, tmpfs sizes
 * and IPC namespace, and says that it has no cgroup. */
static void without_cgroups_the_box_still_runs(void **state)
{
    need_root();
    fixture_t *f = *state;
    pid_t pid = fork();
    if (pid == 0) {
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("tmpfs", "/sys/fs/cgroup", "tmpfs", MS_NOSUID | MS_NODEV, "size=64k") < 0)
            _exit(10);
        _exit(degraded_box_child(f, JT_BOX_PID_NS | JT_BOX_ROOT | JT_BOX_RUN_UID, "cgroup"));
    }
    assert_int_equal(wait_child(pid), 0);
}

/* /proc/sys read-only, as Docker mounts it in every unprivileged container:
 * the box still gets its IPC namespace with its own limits (set through a
 * procfs of its own), its minimal root and its pid namespace, and a run in it
 * reads the box's 64 MiB shmmax. Returns 0, or the number of the failed check. */
static int read_only_proc_sys_child(const fixture_t *f)
{
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("/proc/sys", "/proc/sys", NULL, MS_BIND, NULL) < 0 ||
        mount(NULL, "/proc/sys", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
        return 10;
    if (access("/proc/sys/kernel/shmmax", W_OK) == 0 || errno != EROFS)
        return 11;
    jt_runner_t *r = child_runner(f);
    if (r == NULL)
        return 1;
    const jt_runner_box_t *box = jt_runner_box(r);
    unsigned want = JT_BOX_IPC_NS | JT_BOX_PID_NS | JT_BOX_ROOT | JT_BOX_RUN_UID;
    fprintf(stderr, "box: slot %d, features %#x\n", box->slot, box->features);
    int rc = (box->features & want) == want ? 0 : 2;
    if (rc == 0)
        rc = child_validates(r, "{\"candidate_code\": \"def f(x):\\n    return int(open("
                                "'/proc/sys/kernel/shmmax').read())\\n\", \"function_name\": "
                                "\"f\", \"test_cases\": [{\"inputs\": [1], \"expected_output\": "
                                "67108864}]}");
    jt_runner_destroy(r);
    return rc;
}

static void read_only_proc_sys_keeps_the_ipc_limits(void **state)
{
    need_root();
    fixture_t *f = *state;
    pid_t pid = fork();
    if (pid == 0)
        _exit(read_only_proc_sys_child(f));
    assert_int_equal(wait_child(pid), 0);
}

/* Become nobody in a forked child, optionally unable to make user
 * namespaces (a seccomp filter refuses clone and unshare with
 * CLONE_NEWUSER, as on a host that forbids them). Returns 0 or -1. */
static int become_nobody(bool without_user_namespaces)
{
    if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
        setresuid(65534, 65534, 65534) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -1;
    if (!without_user_namespaces)
        return 0;
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    int rc = ctx == NULL ? -1 : 0;
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    if (rc == 0)
        rc = seccomp_load(ctx);
    if (ctx != NULL)
        seccomp_release(ctx);
    return rc == 0 ? 0 : -1;
}

/* A worker that is not root, on a host that allows user namespaces: each box
 * is root of a user namespace of its own, and so gets its pid, mount,
 * network, IPC and UTS namespaces and its minimal root, then drops every
 * capability; it lacks only the slot's uids and the cgroup. */
static void without_root_a_user_namespace_makes_the_box(void **state)
{
    need_root();
    fixture_t *f = *state;
    assert_int_equal(chmod(f->dir, 0777), 0); /* the unprivileged runner's working dirs */
    pid_t pid = fork();
    if (pid == 0) {
        if (become_nobody(false) < 0)
            _exit(10);
        _exit(degraded_box_child(f,
                                 JT_BOX_USER_NS | JT_BOX_PID_NS | JT_BOX_PROC | JT_BOX_ROOT |
                                     JT_BOX_MOUNT_NS | JT_BOX_NET_NS | JT_BOX_IPC_NS,
                                 "box_uid"));
    }
    assert_int_equal(wait_child(pid), 0);
}

/* Not root and no user namespaces: the box still validates (seccomp,
 * rlimits, supervision), and says that it has no user namespace. */
static void without_root_or_user_namespaces_the_box_still_runs(void **state)
{
    need_root();
    fixture_t *f = *state;
    assert_int_equal(chmod(f->dir, 0777), 0);
    pid_t pid = fork();
    if (pid == 0) {
        if (become_nobody(true) < 0)
            _exit(10);
        _exit(degraded_box_child(f, 0, "user_namespace"));
    }
    assert_int_equal(wait_child(pid), 0);
}

/* A candidate that raises when any run before it left state behind: files
 * in every writable directory, SysV shared memory, semaphores, queues. */
/* A candidate that raises when any run before it left state behind, in
 * every way a run may try: files in every writable directory (then made
 * unreadable: mode 0), the top directories' modes, extended attributes and
 * times, System V shared memory (mode 0, so that a permission-checked scan
 * would miss it), semaphores, queues. */
static const char leftover_probe[] =
    "import ctypes, os\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    "DIRS = ['.', '/tmp', '/var/tmp', '/dev/shm', '/run/lock']\n"
    "KEY = 0x4a540007\n"
    "def hide_segment(sid):\n"
    "    buf = ctypes.create_string_buffer(256)\n"
    "    if libc.shmctl(sid, 2, buf) == 0:\n" /* IPC_STAT */
    "        buf[20:24] = bytes(4)\n"         /* ipc_perm.mode on x86_64/aarch64 */
    "        libc.shmctl(sid, 1, buf)\n"      /* IPC_SET */
    "def solve(n):\n"
    "    found = ['mode %s' % d for d in DIRS if os.stat(d).st_mode & 0o7777 != 0o700]\n"
    "    for d in DIRS:\n"
    "        os.chmod(d, 0o700)\n"
    "    found += ['shm'] if libc.shmget(KEY, 0, 0) >= 0 else []\n"
    "    found += ['msg'] if libc.msgget(KEY, 0) >= 0 else []\n"
    "    found += ['sem'] if libc.semget(KEY, 0, 0) >= 0 else []\n"
    "    found += ['file %s' % d for d in DIRS if os.path.exists(os.path.join(d, 'left'))]\n"
    "    found += ['times'] if os.stat('/var/tmp').st_mtime == 123456789 else []\n"
    "    try:\n"
    "        found += ['xattr'] if os.getxattr('/tmp', 'user.left') else []\n"
    "    except OSError:\n"
    "        pass\n"
    "    for d in DIRS:\n"
    "        try:\n"
    "            open(os.path.join(d, 'left'), 'w').write('x')\n"
    "        except OSError:\n"
    "            pass\n"
    "    try:\n"
    "        os.setxattr('/tmp', 'user.left', b'42')\n"
    "    except OSError:\n"
    "        pass\n"
    "    os.utime('/var/tmp', (123456789, 123456789))\n"
    "    hide_segment(libc.shmget(KEY, 8, 0o1600))\n"
    "    libc.semget(KEY, 1, 0o1600)\n"
    "    libc.msgget(KEY, 0o1600)\n"
    "    os.chmod('/run/lock', 0o1755)\n"
    "    for d in DIRS[:-1]:\n"
    "        os.chmod(d, 0)\n"
    "    if found:\n"
    "        raise RuntimeError('left by an earlier run: %s' % found)\n"
    "    return n\n";

/* Run `jouletrace-worker measure --meter estimate` on a one-test job of code
 * (solve(7) == 7, 5 trials, 1 warm-up, a CV target nobody reaches) and
 * return its result (caller decrefs) and the seconds it took. */
static json_t *measure(const fixture_t *f, const char *code, double *seconds)
{
    char job_path[192], out_path[192];
    snprintf(job_path, sizeof job_path, "%s/job.json", f->dir);
    snprintf(out_path, sizeof out_path, "%s/out.json", f->dir);
    json_t *job = json_pack("{s:s, s:s, s:[{s:[i], s:i}], s:i, s:i, s:f, s:f}", "candidate_code",
                            code, "function_name", "solve", "test_cases", "inputs", 7,
                            "expected_output", 7, "energy_measurement_trials", 5, "warmup_trials",
                            1, "target_cv_percent", 0.001, "timeout_seconds", 2.0);
    assert_int_equal(json_dump_file(job, job_path, 0), 0);
    json_decref(job);
    double started = jt_clock_now();
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || dup2(fd, 1) < 0)
            _exit(99);
        execl(getenv("JT_WORKER_BIN"), "jouletrace-worker", "measure", "--meter", "estimate",
              job_path, (char *)NULL);
        _exit(98);
    }
    wait_child(pid);
    *seconds = jt_clock_now() - started;
    json_error_t jerr;
    json_t *out = json_load_file(out_path, 0, &jerr);
    assert_non_null(out);
    return out;
}

/* The runs of a measurement share nothing: between two runs the box
 * removes every file and SysV object the one before left, and puts its
 * top directories back as they were made. */
static void runs_of_a_trial_share_no_state(void **state)
{
    need_root();
    double seconds;
    json_t *out = measure(*state, leftover_probe, &seconds);
    const char *status = json_string_value(json_object_get(out, "status"));
    if (status == NULL || strcmp(status, "completed") != 0)
        fprintf(stderr, "%s\n", json_string_value(json_object_get(out, "error")));
    assert_string_equal(status, "completed");
    /* at least four runs looked for what the ones before them left: the
     * warm-up trial and three measured ones (the earliest a CV stop may end) */
    json_t *stats = json_object_get(out, "statistics");
    assert_true(json_integer_value(json_object_get(stats, "trials")) >= 3);
    assert_true(json_integer_value(json_object_get(stats, "warmup_trials")) >= 1);
    assert_true(json_integer_value(json_object_get(stats, "repeats_per_trial")) >= 1);
    json_decref(out);
}

/* A measured run that closes its result pipe and keeps running (so that
 * nobody watches its clock) is killed a second later and fails the job as a
 * timeout; it never holds the worker for its CPU limit (a day). */
static void run_that_closes_its_pipe_is_killed(void **state)
{
    static const char code[] = "import os, resource, time\n"
                               "def solve(n):\n"
                               "    if resource.getrlimit(resource.RLIMIT_CPU)[0] > 50000:\n"
                               "        os.close(3)\n" /* measured runs only: the gate's is low */
                               "        time.sleep(120)\n"
                               "    return n\n";
    double seconds;
    json_t *out = measure(*state, code, &seconds);
    const char *error = json_string_value(json_object_get(out, "error"));
    fprintf(stderr, "%.1f s: %s\n", seconds, error ? error : "(no error)");
    assert_string_equal(json_string_value(json_object_get(out, "status")), "failed");
    assert_non_null(error);
    assert_non_null(strstr(error, "kept running after it closed its result pipe"));
    assert_true(seconds < 30.0);
    json_decref(out);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(runs_of_a_trial_share_no_state, setup, teardown),
    cmocka_unit_test_setup_teardown(run_that_closes_its_pipe_is_killed, setup, teardown),
    cmocka_unit_test_setup_teardown(box_counts_its_cpu_time, setup, teardown),
    cmocka_unit_test_setup_teardown(without_cgroups_the_box_still_runs, setup, teardown),
    cmocka_unit_test_setup_teardown(read_only_proc_sys_keeps_the_ipc_limits, setup, teardown),
    cmocka_unit_test_setup_teardown(without_root_a_user_namespace_makes_the_box, setup, teardown),
    cmocka_unit_test_setup_teardown(without_root_or_user_namespaces_the_box_still_runs, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(two_runners_two_boxes, setup, teardown),
    cmocka_unit_test_setup_teardown(stopped_supervisor_ends_in_timeout, setup, teardown),
};

JT_UNIT_MAIN(tests)
