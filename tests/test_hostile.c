/* test_hostile.c -- hostile calls through `jouletrace-worker validate` stay contained. */
#include <jansson.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "hostile_case.h"
#include "hostile_cross.h"
#include "hostile_host.h"
#include "hostile_job.h"
#include "hostile_report.h"
#include "job_json.h"
#include "runner_client.h"
#include "validation.h"

/* One process runs one case (argv[1]): one hostile call of tests/hostile/candidates.py, or all of
 * them in one job (suite_leaves_nothing). Paths come from tests/hostile.cmake. */

#define CONTAINED(kind) {kind, {{"exception", "contained:"}}, ARG_NONE, false, NULL}

static const hostile_t HOSTILE[] = {
    {"call_loop", {{"timeout", NULL}}, ARG_NONE, false, NULL},
    {"memory", {{"memory_limit", NULL}}, ARG_NONE, false, NULL},
    {"fork_loop", {{"exception", "PermissionError|not permitted"}}, ARG_NONE, false, NULL},
    {"thread", {{"exception", "RuntimeError|can't start new thread"}}, ARG_NONE, false, NULL},
    {"tcp", {{"exception", NULL}}, ARG_PORT, false, NULL},
    {"big_file", {{"exception", "File too large"}}, ARG_FILE, false, NULL},
    {"big_print", {{"output_limit", NULL}}, ARG_NONE, false, NULL},
    {"huge_result", {{"output_limit", "return value exceeds"}}, ARG_NONE, false, NULL},
    {"print_loop", {{"output_limit", NULL}}, ARG_NONE, false, NULL},
    {"kill_parent", {{"exception", "PermissionError"}}, ARG_NONE, false, NULL},
    {"killpg", {{"exception", "PermissionError"}}, ARG_NONE, false, NULL},
    /* absent from the box's own root; unreadable where the box sees the host's */
    {"shadow",
     {{"exception", "FileNotFoundError"}, {"exception", "PermissionError"}},
     ARG_NONE,
     true,
     NULL},
    {"sys_exit", {{"exception", "SystemExit"}}, ARG_NONE, false, NULL},
    {"os_exit", {{"crashed", "(exit|code|status)[^0-9]*3([^0-9]|$)"}}, ARG_NONE, false, NULL},
    {"segfault", {{"crashed", "SIGSEGV"}}, ARG_NONE, false, NULL},
    {"recursion", {{"exception", "RecursionError"}, {"crashed", NULL}}, ARG_NONE, false, NULL},
    {"object", {{"not_serializable", NULL}}, ARG_NONE, false, NULL},
    {"set", {{"not_serializable", NULL}}, ARG_NONE, false, NULL},
    /* the worker's environment (a NATS URL with its password) never reaches a run */
    {"secrets", {{"exception", "LookupError|no secret visible"}}, ARG_NONE, false, NULL},
    /* signals by proxy (a descriptor's owner and O_ASYNC) and limits of others */
    {"fcntl_setown", {{"exception", "PermissionError"}}, ARG_NONE, false, NULL},
    {"fcntl_async", {{"exception", "PermissionError"}}, ARG_NONE, false, NULL},
    {"prlimit_parent", {{"exception", "PermissionError"}}, ARG_NONE, false, NULL},
    /* The cases below raise RuntimeError("contained: ...") when the protection holds and
     * return "escaped: ..." (a wrong answer) when it does not. Signals past the filter: */
    CONTAINED("pidfd_signal"),
    CONTAINED("sigqueue_parent"),
    CONTAINED("tgkill_parent"),
    CONTAINED("fcntl_setown_ex"),
    CONTAINED("fcntl_setsig"),
    CONTAINED("fcntl_high_bits"),
    CONTAINED("ioctl_setown"),
    CONTAINED("lease_notify"),
    CONTAINED("renice_others"),
    CONTAINED("ioprio_others"),
    CONTAINED("sched_others"),
    CONTAINED("prlimit_others"),
    /* other processes' memory */
    CONTAINED("vm_read_parent"),
    CONTAINED("proc_mem_parent"),
    CONTAINED("ptrace_parent"),
    CONTAINED("kcmp_parent"),
    /* kernel surfaces */
    CONTAINED("userfaultfd"),
    CONTAINED("perf_event"),
    CONTAINED("keyrings"),
    CONTAINED("bpf"),
    CONTAINED("io_uring"),
    CONTAINED("namespaces"),
    CONTAINED("mount_chroot"),
    CONTAINED("personality"),
    /* state and memory outside the limits */
    CONTAINED("sysv_ipc"),
    CONTAINED("posix_mq"),
    CONTAINED("memfd_memory"),
    {"tmpfs_full", {{"exception", "contained:"}}, ARG_NONE, true, NULL},
    CONTAINED("open_files"),
    /* the files a run leaves: the host's temporary directories and the sandbox directory
     * must hold none of them afterwards (check_side_effects, run_job) */
    {"plant_files", {{"exception", "contained:"}}, ARG_NONE, true, NULL},
    {"deep_path", {{"exception", "contained:"}}, ARG_NONE, true, NULL},
    /* secrets and the host's view */
    CONTAINED("fds_clean"),
    CONTAINED("hostname"),
    {"net_interfaces", {{"exception", "contained:"}}, ARG_NONE, true, NULL},
    CONTAINED("setuid_root"),
    /* the box's own read-only root (root only: namespaces need it) */
    {"minimal_root", {{"exception", "contained:"}}, ARG_NONE, true, NULL},
    /* what the filters must leave working */
    {"python_works",
     {{"passed", NULL}},
     ARG_NONE,
     false,
     "python works: [1, 2, 3, 4, 5] 4096 0.125"},
};
#define N_HOSTILE (sizeof(HOSTILE) / sizeof(HOSTILE[0]))

/* One hostile call, then a normal call in the same job that must still pass. */
static int case_hostile(ctx_t *c, const hostile_t *h)
{
    if (h->root_only && geteuid() != 0) {
        printf("skipped: %s needs root\n", h->kind);
        return SKIPPED;
    }
    bool loop = strcmp(h->kind, "call_loop") == 0;
    int timeout = loop ? 2 : 10;
    bool small = strcmp(h->kind, "memory") == 0 || strcmp(h->kind, "memfd_memory") == 0;
    json_t *job = hostile_job_new(hostile_candidates(), NULL, timeout, small ? 256 : 1024);
    hostile_job_add_call(job, h, c->port);
    hostile_job_add(job, "control", json_pack("[s, i]", "square", 7), json_integer(49));
    run_job(c, h->kind, job, false);
    bool normal = strcmp(h->ok[0].status, "passed") == 0; /* a call that must pass */
    json_t *results = check_report(c, h->kind, 2, normal ? 0 : 1);
    if (results) {
        check_record(c, results, 0, h->kind, h->ok);
        check_record(c, results, 1, "control", PASSED);
    }
    if (loop && c->wall > timeout + 1.0)
        hostile_fail(c, h->kind, "command took %.2f s, limit %d s + 1 s", c->wall, timeout);
    check_side_effects(c, h);
    return 0;
}

/* Every per-call hostile candidate in ONE job between two normal calls. */
static int case_suite(ctx_t *c)
{
    /* big_print spends 1-2 s building and encoding its 100 MiB string on a
     * quiet host, several seconds on a loaded 2-core one */
    const int timeout = 15;
    json_t *job = hostile_job_new(hostile_candidates(), NULL, timeout, 1024);
    size_t n = 0;
    hostile_job_add(job, "control_first", json_pack("[s, i]", "square", 3), json_integer(9));
    n++;
    for (size_t i = 0; i < N_HOSTILE; i++) {
        if (!HOSTILE[i].root_only || geteuid() == 0) {
            hostile_job_add_call(job, &HOSTILE[i], c->port);
            n++;
        }
    }
    hostile_job_add(job, "control_last", json_pack("[s, i]", "square", 7), json_integer(49));
    n++;
    run_job(c, "suite", job, false);
    json_t *results = check_report(c, "suite", n, 1);
    if (!results)
        return 0;
    size_t k = 0;
    check_record(c, results, k++, "control_first", PASSED);
    for (size_t i = 0; i < N_HOSTILE; i++) {
        if (!HOSTILE[i].root_only || geteuid() == 0)
            check_record(c, results, k++, HOSTILE[i].kind, HOSTILE[i].ok);
        check_side_effects(c, &HOSTILE[i]);
    }
    check_record(c, results, k, "control_last", PASSED);
    return 0;
}

/* Job json (consumed) through runner r; fills v. False (a failure of who) when the sandbox
 * itself failed. */
static bool validate_through(ctx_t *c, jt_runner_t *r, const char *who, json_t *job,
                             jt_validation_t *v)
{
    char *body = json_dumps(job, JSON_COMPACT);
    json_decref(job);
    jt_job_t j;
    jt_job_init(&j);
    jt_error_t err;
    jt_status_t s = body ? jt_job_from_json(&j, body, strlen(body), &err) : JT_ERR_NOMEM;
    free(body);
    if (s == JT_OK)
        s = jt_runner_validate(r, &j, -1, v, &err);
    jt_job_cleanup(&j);
    if (s != JT_OK)
        hostile_fail(c, who, "validation through the runner failed: %s", err.message);
    return s == JT_OK;
}

/* Record i of v must be test_id with status (and, when given, actual output). */
static void check_result(ctx_t *c, const jt_validation_t *v, size_t i, const char *test_id,
                         const char *status)
{
    if (i >= v->total_tests || strcmp(v->results[i].test_id, test_id) != 0) {
        hostile_fail(c, test_id, "no record %zu for it", i);
        return;
    }
    const jt_test_result_t *t = &v->results[i];
    if (strcmp(jt_test_status_name(t->status), status) != 0)
        hostile_fail(c, test_id, "status %s (message \"%s\", output %s), expected %s",
                     jt_test_status_name(t->status), t->message ? t->message : "(null)",
                     t->actual_output ? t->actual_output : "(none)", status);
}

/* Two jobs through ONE runner: the first leaves state wherever a run can (files, System V
 * objects, a cached value in the interpreter, its environment, lowered limits, a umask); the
 * second, in the same runner's next sandbox child, must find none of it and run normally. */
static int case_two_jobs_one_runner(ctx_t *c)
{
    const int memory_mb = 512;
    setenv("JOULETRACE_SANDBOX_DIR", c->sandbox, 1);
    jt_config_t cfg;
    jt_error_t err;
    jt_runner_t *r = NULL;
    if (jt_config_load(&cfg, &err) != JT_OK) {
        hostile_fail(c, "setup", "configuration: %s", err.message);
        return 0;
    }
    snprintf(cfg.runner_path, sizeof cfg.runner_path, "%s", JT_RUNNER_BIN);
    if (jt_runner_spawn(&cfg, &r, &err) != JT_OK) {
        hostile_fail(c, "setup", "runner: %s", err.message);
        return 0;
    }
    json_t *first = hostile_job_new(hostile_candidates(), NULL, 10, memory_mb);
    hostile_job_add(first, "plant_everything", json_pack("[s, n]", "plant_everything"),
                    json_string("planted"));
    json_t *second = hostile_job_new(hostile_candidates(), NULL, 10, memory_mb);
    hostile_job_add(second, "check_clean", json_pack("[s, i]", "check_clean", memory_mb),
                    json_string("clean"));
    hostile_job_add(second, "control", json_pack("[s, i]", "square", 9), json_integer(81));
    jt_validation_t v1, v2;
    jt_validation_init(&v1);
    jt_validation_init(&v2);
    if (validate_through(c, r, "first job", first, &v1))
        check_result(c, &v1, 0, "plant_everything", "passed");
    if (validate_through(c, r, "second job", second, &v2)) {
        check_result(c, &v2, 0, "check_clean", "passed");
        check_result(c, &v2, 1, "control", "passed");
    }
    jt_validation_cleanup(&v1);
    jt_validation_cleanup(&v2);
    jt_runner_destroy(r);
    hostile_sweep(c, "the two jobs");
    char desc[1024];
    if (hostile_host_markers(1, desc, sizeof desc) > 0)
        hostile_fail(c, "plant_everything", "files reached the host:%s", desc);
    return 0;
}

/* One job through each of two workers at once: the first scans /proc for the second's
 * processes and tries to signal, stop, renice, re-limit and read them and to find its files;
 * the second checks that its files, priority and limits stay as they were and must pass with
 * its own results. */
static int case_two_workers(ctx_t *c)
{
    char canary[64], intact[64];
    snprintf(canary, sizeof canary, "jt-canary-%ld-%ld", (long)getpid(), (long)time(NULL));
    snprintf(intact, sizeof intact, "intact %zu", strlen(canary) * 1000);
    hostile_worker_t w[2] = {{.who = "cross_attack"}, {.who = "cross_victim"}};
    w[0].job = hostile_job_new(hostile_candidates(), NULL, 15, 1024);
    hostile_job_add(w[0].job, "cross_attack", json_pack("[s, s]", "cross_attack", canary),
                    json_string("never returned"));
    w[1].job = hostile_job_new(hostile_candidates(), NULL, 15, 1024);
    hostile_job_add(w[1].job, "cross_victim", json_pack("[s, s]", "cross_victim", canary),
                    json_string(intact));
    hostile_job_add(w[1].job, "control", json_pack("[s, i]", "square", 12), json_integer(144));
    hostile_run_pair(c, w);
    static const expect_t contained[2] = {{"exception", "contained:"}};
    json_t *attack = NULL, *victim = NULL;
    for (int i = 0; i < 2; i++) {
        c->report = w[i].report;
        c->exit_code = w[i].exit_code;
        json_t *results = check_report(c, w[i].who, i == 0 ? 1 : 2, i == 0 ? 1 : 0);
        if (i == 0)
            attack = results;
        else
            victim = results;
        if (c->failures > 0)
            fprintf(stderr, "---- %s stderr ----\n%s\n", w[i].who, w[i].err_tail);
    }
    if (attack) {
        check_record(c, attack, 0, "cross_attack", contained);
        const char *m = json_string_value(json_object_get(json_array_get(attack, 0), "message"));
        const char *verdict = m ? strstr(m, "contained:") : NULL;
        printf("[two_workers] attacker: %s\n", verdict ? verdict : "(no verdict)");
    }
    if (victim) {
        check_record(c, victim, 0, "cross_victim", PASSED);
        check_record(c, victim, 1, "control", PASSED);
    }
    json_decref(w[0].report);
    c->report = w[1].report; /* released by hostile_main */
    char desc[1024];
    if (hostile_host_markers(1, desc, sizeof desc) > 0)
        hostile_fail(c, "cross_victim", "files reached the host:%s", desc);
    return 0;
}

/* Runs last (ctest FIXTURES_CLEANUP): no process of any case (worker, runner, sandbox child,
 * run: all carry a sandbox directory under JT_SANDBOX_ROOT in their environment), no System V
 * object of the sandbox user, no mount and no file under JT_SANDBOX_ROOT, no jt-hostile-* file
 * in the host's temporary directories. */
static int case_host_clean(ctx_t *c)
{
    char desc[4096];
    pid_t pids[256];
    size_t n = hostile_prefix_procs(JT_SANDBOX_ROOT "/", pids, 256, desc, sizeof desc);
    if (n > 0)
        hostile_fail(c, "the suite", "%zu process(es) of hostile cases alive:%s", n, desc);
    const char *user = getenv("JOULETRACE_SANDBOX_USER");
    struct passwd *pw = getpwnam(user && *user ? user : "nobody");
    if (pw && (n = hostile_sysv_objects(pw->pw_uid, desc, sizeof desc)) > 0)
        hostile_fail(c, "the suite", "%zu System V object(s) of uid %u on the host:%s", n,
                     (unsigned)pw->pw_uid, desc);
    if ((n = hostile_mounts_under(JT_SANDBOX_ROOT, desc, sizeof desc)) > 0)
        hostile_fail(c, "the suite", "%zu mount(s) under %s:%s", n, JT_SANDBOX_ROOT, desc);
    if ((n = hostile_files_under(JT_SANDBOX_ROOT, desc, sizeof desc)) > 0)
        hostile_fail(c, "the suite", "%zu file(s) left under %s:%s", n, JT_SANDBOX_ROOT, desc);
    if ((n = hostile_host_markers(0, desc, sizeof desc)) > 0)
        hostile_fail(c, "the suite", "%zu jt-hostile-* file(s) on the host:%s", n, desc);
    return 0;
}

static int run_case(ctx_t *c)
{
    const char *n = c->name;
    if (strcmp(n, "tcp") == 0 || strcmp(n, "suite_leaves_nothing") == 0)
        listen_loopback(c);
    for (size_t i = 0; i < N_HOSTILE; i++)
        if (strcmp(n, HOSTILE[i].kind) == 0)
            return case_hostile(c, &HOSTILE[i]);
    if (strcmp(n, "suite_leaves_nothing") == 0)
        return case_suite(c);
    if (strcmp(n, "two_jobs_one_runner") == 0)
        return case_two_jobs_one_runner(c);
    if (strcmp(n, "two_workers") == 0)
        return case_two_workers(c);
    if (strcmp(n, "host_clean_after_suite") == 0)
        return case_host_clean(c);
    fprintf(stderr, "no test case named %s\n", n);
    return 1;
}

int main(int argc, char **argv)
{
    return hostile_main(argc, argv, run_case);
}
