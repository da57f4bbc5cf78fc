/* process_harness.h -- start, watch and stop the programs a test runs as its children.
 *
 * Usage:
 *     jt_proc_t w = {.id = "worker"};
 *     snprintf(w.log, sizeof w.log, "%s/worker.log", dir);
 *     char *argv[] = {(char *)JT_WORKER_BIN, (char *)"run", NULL};
 *     const char *vars[] = {"JOULETRACE_METER=estimate", NULL};
 *     if (jt_proc_start(&w, argv, vars, false) != 0) fail();
 *     ... jt_proc_alive(w.pid) ...
 *     int status = jt_proc_stop(&w.pid, SIGTERM, 10.0, false);
 *
 * A child's stdout and stderr are appended to its log file (shown with jt_proc_dump_log when
 * a test fails), its stdin is /dev/null, and it dies with the test (PR_SET_PDEATHSIG; the
 * signal is tied to the thread that started it: start children from the test's main thread).
 * Servers listen on 127.0.0.1 only (jt_proc_free_port). Call these from one thread.
 */
#ifndef JT_TESTS_PROCESS_HARNESS_H
#define JT_TESTS_PROCESS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define JT_PROC_LOG_TAIL_MAX 16384 /* bytes of a log jt_proc_dump_log shows at most */

/* A started child: its pid (0 when not running), a name for messages and the file its output
 * goes to (set log before jt_proc_start). */
typedef struct {
    pid_t pid;
    char id[32];
    char log[256];
} jt_proc_t;

/* Seconds on the monotonic clock. */
double jt_proc_now(void);

/* Sleep ms milliseconds (less when a signal arrives). */
void jt_proc_sleep_ms(long ms);

/* A TCP port free on 127.0.0.1 right now (the kernel's choice), or -1. Another program may take
 * it before the child binds it: callers retry or fail. */
int jt_proc_free_port(void);

/* envp for a child: the test's environment without the entries that start with drop_prefix,
 * then vars (NULL-terminated "NAME=value" strings, may be NULL). Neither is copied: keep both
 * alive until the fork. The caller frees the array (not the strings); NULL when out of memory.
 * Built before fork because the child of a multi-threaded test (nats.c threads) may only call
 * async-signal-safe functions. */
char **jt_proc_envp(const char *drop_prefix, const char *const *vars);

/* Fork+exec argv[0] (a path; else looked up in PATH) with envp, stdin from /dev/null, stdout
 * and stderr appended to log (created 0600). The child gets deathsig when the test dies; with
 * own_group it leads a process group of its own (jt_proc_stop with group then kills what is
 * left of it). Returns the pid, or -1 with a line on stderr when the log cannot be opened or
 * fork fails. A failed exec shows as the child's exit code 127. */
pid_t jt_proc_spawn(char *const *argv, char *const *envp, const char *log, int deathsig,
                    bool own_group);

/* Start argv as p (p->log set by the caller) with the test's environment minus JOULETRACE_*,
 * plus vars (see jt_proc_envp); SIGKILL when the test dies. Returns 0 with p->pid set, or -1
 * leaving p->pid 0. */
int jt_proc_start(jt_proc_t *p, char *const *argv, const char *const *vars, bool own_group);

/* Wait up to `seconds` for the child pid to exit and reap it. Returns true once it is gone, its
 * wait status in *status (-1 when it was no child of ours, e.g. reaped already); false at the
 * deadline, *status untouched. */
bool jt_proc_reap(pid_t pid, double seconds, int *status);

/* Send sig to *pid and reap it; when it has not exited after `seconds`, SIGKILL it (and its
 * process group when group) and reap it. With group, whatever is left of its group is killed
 * afterwards too. Sets *pid to 0. Returns the wait status (a SIGKILL after the deadline reads
 * as killed by SIGKILL), or -1 when *pid was not running or was no child of ours. */
int jt_proc_stop(pid_t *pid, int sig, double seconds, bool group);

/* Whether the child pid is still running. A child that has exited is reaped here (its status
 * is lost): use it for liveness checks only. */
bool jt_proc_alive(pid_t pid);

/* Print the last `max` bytes (at most JT_PROC_LOG_TAIL_MAX) of the log at path to stderr under
 * title, for a failing test; a line when it is absent. */
void jt_proc_dump_log(const char *title, const char *path, size_t max);

#endif
