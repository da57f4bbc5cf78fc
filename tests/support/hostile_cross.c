/* hostile_cross.c -- two `jouletrace-worker validate` commands at once, each with its runner. */
#include "hostile_cross.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "process_harness.h"

#define PAIR_DEADLINE_S 50.0 /* both workers are killed after this (ctest TIMEOUT is 60) */

/* path[3] = job, stdout, stderr file of worker i of case c. */
static void pair_paths(const ctx_t *c, int i, char path[3][PATH_MAX])
{
    static const char *const ext[3] = {"job.json", "out", "err"};
    for (int k = 0; k < 3; k++)
        snprintf(path[k], PATH_MAX, "%s/%s.%d.%s", JT_SANDBOX_ROOT, c->name, i, ext[k]);
}

static pid_t start_worker(ctx_t *c, char path[3][PATH_MAX])
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    setpgid(0, 0);
    int in = open("/dev/null", O_RDONLY);
    int out = open(path[1], O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(path[2], O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
        _exit(127);
    setenv("JOULETRACE_SANDBOX_DIR", c->sandbox, 1);
    signal(SIGPIPE, SIG_DFL);
    execl(JT_WORKER_BIN, "jouletrace-worker", "validate", path[0], (char *)NULL);
    _exit(127);
}

static void read_tail(const char *path, char *buf, size_t cap)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        if (size > (long)cap - 1)
            fseek(f, size - (long)cap + 1, SEEK_SET);
        else
            fseek(f, 0, SEEK_SET);
    }
    buf[fread(buf, 1, cap - 1, f)] = '\0';
    fclose(f);
}

void hostile_run_pair(ctx_t *c, hostile_worker_t w[2])
{
    char path[2][3][PATH_MAX];
    pid_t pid[2] = {-1, -1};
    for (int i = 0; i < 2; i++) {
        pair_paths(c, i, path[i]);
        w[i].exit_code = -1;
        w[i].report = NULL;
        w[i].err_tail[0] = '\0';
        int fd = open(path[i][0], O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || json_dumpfd(w[i].job, fd, JSON_COMPACT) != 0)
            hostile_fail(c, w[i].who, "cannot write %s: %s", path[i][0], strerror(errno));
        if (fd >= 0)
            close(fd);
        json_decref(w[i].job);
        w[i].job = NULL;
    }
    double t0 = jt_proc_now();
    for (int i = 0; i < 2; i++)
        pid[i] = start_worker(c, path[i]);
    int left = (pid[0] > 0) + (pid[1] > 0);
    while (left > 0) {
        for (int i = 0; i < 2; i++) {
            int st;
            if (pid[i] <= 0 || waitpid(pid[i], &st, WNOHANG) != pid[i])
                continue;
            w[i].exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
            pid[i] = -1;
            left--;
        }
        if (left > 0 && jt_proc_now() - t0 > PAIR_DEADLINE_S) {
            for (int i = 0; i < 2; i++)
                if (pid[i] > 0) {
                    hostile_fail(c, w[i].who, "worker still running after %.0f s; killed",
                                 PAIR_DEADLINE_S);
                    kill(-pid[i], SIGKILL);
                    waitpid(pid[i], NULL, 0);
                    pid[i] = -1;
                }
            left = 0;
        }
        usleep(20000);
    }
    c->wall = jt_proc_now() - t0;
    for (int i = 0; i < 2; i++) {
        json_error_t e;
        w[i].report = json_load_file(path[i][1], 0, &e);
        read_tail(path[i][2], w[i].err_tail, sizeof w[i].err_tail);
        for (int k = 0; k < 3; k++)
            remove(path[i][k]);
    }
    hostile_sweep(c, "the pair");
}
