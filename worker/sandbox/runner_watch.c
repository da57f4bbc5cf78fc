/* runner_watch.c -- kill a box whose supervisor is stopped or whose validation is overdue. */
#include "runner_watch.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "protocol.h"
#include "sandbox_gate.h"

void jt_runner_watch_start(jt_runner_watch_t *w, bool validate, double timeout_seconds,
                           size_t n_tests, double budget_seconds)
{
    double now = jt_clock_now();
    *w = (jt_runner_watch_t){.validate = validate,
                             .timeout_seconds = timeout_seconds,
                             .n_tests = n_tests,
                             /* a run loads the module, then calls: two limits */
                             .progress_deadline =
                                 now + 2.0 * timeout_seconds + JT_WATCH_SLACK_SECONDS,
                             .budget_deadline = now + budget_seconds + JT_WATCH_SLACK_SECONDS};
}

void jt_runner_watch_frame(jt_runner_watch_t *w, const uint8_t *data, size_t len)
{
    /* only the type is read: a large output is not unpacked here */
    if (w->validate && jt_mp_frame_has_type(data, len, "test")) {
        w->reported++;
        w->progress_deadline = jt_clock_now() + 2.0 * w->timeout_seconds + JT_WATCH_SLACK_SECONDS;
    }
}

bool jt_process_is_stopped(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    /* "pid (comm) S ...": comm may hold spaces and parentheses, the last ')' ends it */
    const char *end = strrchr(buf, ')');
    return end != NULL && end[1] == ' ' && (end[2] == 'T' || end[2] == 't');
}

const char *jt_runner_watch_check(jt_runner_watch_t *w, pid_t child)
{
    if (w->kill_reason != NULL)
        return w->kill_reason;
    if (jt_process_is_stopped(child))
        w->kill_reason = "the sandbox supervisor was found stopped; the box was killed";
    else if (w->validate && w->reported < w->n_tests) {
        double now = jt_clock_now();
        if (now >= w->budget_deadline)
            w->kill_reason = "the validation budget ran out; the box was killed";
        else if (now >= w->progress_deadline)
            w->kill_reason = "no result within the time limit; the box was killed";
    }
    return w->kill_reason;
}

int jt_runner_watch_report(const jt_runner_watch_t *w, int out_fd)
{
    if (!w->validate)
        return 0;
    for (size_t i = w->reported; i < w->n_tests; i++)
        if (jt_gate_emit_test(out_fd, i, i == w->reported ? "timeout" : "not_run", NULL,
                              i == w->reported ? w->kill_reason : "skipped: the box was killed",
                              NULL, 0.0) < 0)
            return -1;
    return 0;
}
