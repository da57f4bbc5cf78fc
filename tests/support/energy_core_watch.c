/* energy_core_watch.c -- energy tests: watch the measurement core for disturbance. */
#include "energy_core_watch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc_scan.h"
#include "process_harness.h"

#define QUIET_BUDGET_S 30.0 /* per attempt, waiting for a quiet measurement core */
#define SPEED_DRIFT 1.10    /* slowest / fastest probe of an attempt above this: disturbed */
#define TRIAL_SPREAD 1.15   /* slowest / fastest s/run in one job's trials above: disturbed */
#define FOREIGN_SHARE 0.02  /* foreign tasks in more scans than this: disturbed */
#define MAX_TASKS 4096

/* The fields of one /proc/<pid>/stat (or task/<tid>/stat) that the scan needs. */
typedef struct {
    int pid, ppid, cpu;
    char state;
    char comm[20];
} task_t;

void core_watch_init(core_watch_t *w)
{
    w->samples = w->foreign = 0;
    w->foreign_names[0] = '\0';
    w->n_probes = 0;
    w->last_probe = 0;
    w->quiet_waited = 0;
    w->spread = 1.0;
    w->work_off = false;
}

void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int pin_to(pid_t pid, int core)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(core, &set);
    return sched_setaffinity(pid, sizeof set, &set);
}

/* Parse /proc/.../stat into *t; false when unreadable. */
static bool read_task(const char *path, task_t *t)
{
    char buf[1024];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    char *open_paren = strchr(buf, '('), *close_paren = strrchr(buf, ')');
    if (open_paren == NULL || close_paren == NULL || close_paren < open_paren)
        return false;
    t->pid = atoi(buf);
    snprintf(t->comm, sizeof t->comm, "%.*s", (int)(close_paren - open_paren - 1), open_paren + 1);
    /* fields after the name: 3 state, 4 ppid, ..., 39 processor */
    char *save = NULL, *tok = strtok_r(close_paren + 1, " ", &save);
    for (int field = 3; tok != NULL; field++, tok = strtok_r(NULL, " ", &save)) {
        if (field == 3)
            t->state = tok[0];
        else if (field == 4)
            t->ppid = atoi(tok);
        else if (field == 39) {
            t->cpu = atoi(tok);
            return true;
        }
    }
    return false;
}

/* Whether pid descends from this process (or is it), by the ppid chain in tasks. */
static bool is_ours(const task_t *tasks, size_t n, int pid)
{
    int self = (int)getpid();
    for (int depth = 0; depth < 64 && pid > 1; depth++) {
        if (pid == self)
            return true;
        int parent = 0;
        for (size_t i = 0; i < n; i++)
            if (tasks[i].pid == pid) {
                parent = tasks[i].ppid;
                break;
            }
        pid = parent;
    }
    return false;
}

bool scan_foreign(core_watch_t *w)
{
    static task_t procs[MAX_TASKS];
    size_t n = 0;
    DIR *d = opendir("/proc");
    if (d == NULL)
        return false;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < MAX_TASKS) {
        char path[300];
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
        if (read_task(path, &procs[n]))
            n++;
    }
    closedir(d);
    bool seen = false;
    for (size_t i = 0; i < n; i++) {
        const task_t *p = &procs[i];
        if (p->pid == 2 || p->ppid == 2 || is_ours(procs, n, p->pid))
            continue;
        char dir[64];
        snprintf(dir, sizeof dir, "/proc/%d/task", p->pid);
        DIR *td = opendir(dir);
        if (td == NULL)
            continue;
        while ((de = readdir(td)) != NULL) {
            char path[330];
            task_t t;
            if (de->d_name[0] < '0' || de->d_name[0] > '9')
                continue;
            snprintf(path, sizeof path, "%s/%s/stat", dir, de->d_name);
            if (!read_task(path, &t) || t.state != 'R' || t.cpu != MEASURE_CORE)
                continue;
            seen = true;
            size_t used = strlen(w->foreign_names);
            if (strstr(w->foreign_names, p->comm) == NULL &&
                used + strlen(p->comm) + 2 < sizeof w->foreign_names)
                snprintf(w->foreign_names + used, sizeof w->foreign_names - used, " %s", p->comm);
        }
        closedir(td);
    }
    return seen;
}

/* Before each command: wait until the measurement core has had at most one
 * busy tick in each of two half-seconds, up to QUIET_BUDGET_S per attempt;
 * then go on regardless (the command's scans will show the load). */
static void wait_for_quiet_core(core_watch_t *w)
{
    double start = jt_proc_now();
    int quiet = 0;
    while (quiet < 2 && w->quiet_waited + (jt_proc_now() - start) < QUIET_BUDGET_S) {
        long long a = jt_scan_busy_ticks(MEASURE_CORE);
        sleep_s(0.5);
        long long b = jt_scan_busy_ticks(MEASURE_CORE);
        quiet = (a >= 0 && b >= 0 && b - a <= 1) ? quiet + 1 : 0;
    }
    double waited = jt_proc_now() - start;
    w->quiet_waited += waited;
    if (waited > 1.5)
        fprintf(stderr, "waited %.1f s for core %d to be quiet%s\n", waited, MEASURE_CORE,
                quiet < 2 ? " (gave up: something else keeps it busy)" : "");
}

/* The speed of the measurement core, outside every command. This VM's
 * virtual cores slow down for seconds at a time (Python code by up to 1.9x,
 * seen while a register-only C loop kept its speed: contention for the
 * physical core's shared resources on the host), and a guest counts that
 * as busy time, which fake_rapl charges as energy. So the probe is the
 * candidates' own kind of work: the same Python loop, pinned to the core,
 * timed in the interpreter (the median of three). */
static const char PROBE_SRC[] = BURN_SRC "import time\n"
                                         "t = []\n"
                                         "for _ in range(3):\n"
                                         "    s = time.perf_counter()\n"
                                         "    burn(150000)\n"
                                         "    t.append(time.perf_counter() - s)\n"
                                         "print(sorted(t)[1])\n";

void probe_speed(core_watch_t *w)
{
    int fds[2];
    w->last_probe = jt_proc_now();
    if (JT_PROBE_PYTHON[0] == '\0' || w->n_probes == MAX_PROBES || pipe2(fds, O_CLOEXEC) != 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(fds[1], 1);
        if (pin_to(0, MEASURE_CORE) == 0)
            execl(JT_PROBE_PYTHON, JT_PROBE_PYTHON, "-I", "-S", "-c", PROBE_SRC, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char buf[64] = "";
    size_t len = 0;
    while (pid > 0 && len < sizeof buf - 1) {
        struct pollfd p = {.fd = fds[0], .events = POLLIN};
        if (poll(&p, 1, 5000) <= 0)
            break;
        ssize_t got = read(fds[0], buf + len, sizeof buf - 1 - len);
        if (got <= 0)
            break;
        len += (size_t)got;
    }
    buf[len] = '\0';
    close(fds[0]);
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    double secs = strtod(buf, NULL);
    if (secs > 0)
        w->probes[w->n_probes++] = secs;
    w->last_probe = jt_proc_now();
}

/* Slowest / fastest probe of the attempt (1 when fewer than two). */
static double speed_drift(const core_watch_t *w)
{
    double lo = INFINITY, hi = 0;
    for (size_t i = 0; i < w->n_probes; i++) {
        lo = w->probes[i] < lo ? w->probes[i] : lo;
        hi = w->probes[i] > hi ? w->probes[i] : hi;
    }
    return w->n_probes >= 2 && lo > 0 ? hi / lo : 1.0;
}

void before_command(core_watch_t *w)
{
    if (jt_proc_now() - w->last_probe > 2.0)
        probe_speed(w);
    wait_for_quiet_core(w);
}

/* Slowest / fastest seconds per run over the measured trials of one result
 * (1 without trials): every candidate here does the same work in every run,
 * so a spread means the core's speed changed during the job. */
static double trial_spread(const json_t *result)
{
    double lo = INFINITY, hi = 0;
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(result, "trials"), i, t)
    {
        double r = (double)json_integer_value(json_object_get(t, "repeats"));
        double x = r > 0 ? json_number_value(json_object_get(t, "seconds")) / r : 0;
        lo = x > 0 && x < lo ? x : lo;
        hi = x > hi ? x : hi;
    }
    return hi > 0 && lo < INFINITY ? hi / lo : 1.0;
}

void core_watch_note_result(core_watch_t *w, const json_t *result)
{
    double x = trial_spread(result);
    w->spread = x > w->spread ? x : w->spread;
}

bool disturbed(const core_watch_t *w, char *why, size_t len)
{
    double share = w->samples ? (double)w->foreign / (double)w->samples : 0;
    double drift = speed_drift(w), spread = w->spread;
    snprintf(why, len,
             "foreign tasks on core %d in %.1f%% of scans, speed drift between commands %.3f, "
             "widest spread of s/run within a job %.3f",
             MEASURE_CORE, 100 * share, drift, spread);
    if (w->work_off)
        snprintf(why + strlen(why), len - strlen(why),
                 "; the core's time for the work was out of proportion");
    return share >= FOREIGN_SHARE || drift > SPEED_DRIFT || spread > TRIAL_SPREAD || w->work_off;
}

void print_environment(const core_watch_t *w)
{
    char buf[128] = "";
    FILE *f = fopen("/proc/loadavg", "r");
    if (f != NULL) {
        if (fgets(buf, sizeof buf, f) == NULL)
            buf[0] = '\0';
        fclose(f);
    }
    fprintf(stderr,
            "load average: %s"
            "foreign tasks on core %d in %ld of %ld scans of this attempt%s%s\n"
            "speed probes of core %d (ms):",
            buf[0] ? buf : "?\n", MEASURE_CORE, w->foreign, w->samples,
            w->foreign_names[0] ? ":" : "", w->foreign_names, MEASURE_CORE);
    for (size_t i = 0; i < w->n_probes; i++)
        fprintf(stderr, " %.1f", 1e3 * w->probes[i]);
    fprintf(stderr, " (slowest / fastest %.3f)\n", speed_drift(w));
}
