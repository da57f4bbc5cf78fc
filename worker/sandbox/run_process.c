/* run_process.c -- fork a confined run and watch its result, stdout and stderr pipes. */
#include "run_process.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "sandbox_confine.h"

#define RUN_GO_FD 4

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void close_all_from(int lowfd)
{
    if (close_range((unsigned)lowfd, ~0U, 0) == 0)
        return;
    long max = sysconf(_SC_OPEN_MAX);
    for (int fd = lowfd; fd < max; fd++)
        close(fd);
}

static void close_pair(int p[2])
{
    close_fd(&p[0]);
    close_fd(&p[1]);
}

int jt_run_process_start(jt_run_process_t *run, const jt_run_spec_t *spec, size_t start)
{
    int res[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, go[2] = {-1, -1};
    if (pipe2(res, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 ||
        (spec->repeats > 0 && pipe2(go, O_CLOEXEC) < 0)) {
        int saved = errno;
        close_pair(res);
        close_pair(out);
        close_pair(err);
        close_pair(go);
        errno = saved;
        return -1;
    }
    pid_t parent = getpid();
    fflush(NULL);
    PyOS_BeforeFork();
    pid_t pid = fork();
    if (pid == 0) {
        PyOS_AfterFork_Child();
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0 ||
            dup2(res[1], 3) < 0 || (go[0] >= 0 && dup2(go[0], RUN_GO_FD) < 0))
            _exit(71);
        close_all_from(go[0] >= 0 ? RUN_GO_FD + 1 : RUN_GO_FD);
        char why[256];
        if (jt_sandbox_enter_run(parent, why, sizeof why) < 0) {
            dprintf(2, "sandbox: %s\n", why);
            _exit(72);
        }
        jt_run_spec_t rs = *spec;
        rs.go_fd = RUN_GO_FD;
        jt_run_execute(&rs, start, 3);
    }
    PyOS_AfterFork_Parent();
    int saved = errno;
    close_fd(&res[1]);
    close_fd(&out[1]);
    close_fd(&err[1]);
    close_fd(&go[0]);
    if (pid < 0) {
        close_pair(res);
        close_pair(out);
        close_pair(err);
        close_pair(go);
        errno = saved;
        return -1;
    }
    memset(run, 0, sizeof *run);
    run->pid = pid;
    run->result_fd = res[0];
    run->stdout_fd = out[0];
    run->stderr_fd = err[0];
    run->go_fd = go[1];
    fcntl(run->result_fd, F_SETFL, O_NONBLOCK);
    fcntl(run->stdout_fd, F_SETFL, O_NONBLOCK);
    fcntl(run->stderr_fd, F_SETFL, O_NONBLOCK);
    jt_frame_reader_init(&run->reader, JT_RUN_FRAME_MAX_BYTES);
    return 0;
}

/* Wait for the run to be gone, keeping the kernel's account of its
 * resources (wait4) for the trial's usage. */
static void reap_blocking(jt_run_process_t *run, int *status)
{
    pid_t w;
    while ((w = wait4(run->pid, status, 0, &run->usage)) < 0 && errno == EINTR)
        ;
    run->reaped = w == run->pid;
}

/* Reap a run that closed its result pipe: it is exiting, so it is gone
 * within microseconds; one that is still there after the grace (it closed
 * the pipe to keep working unwatched) is killed and marked overstayed. */
static int reap_exiting(jt_run_process_t *run)
{
    int status = 0;
    double give_up = jt_clock_now() + JT_RUN_EXIT_GRACE_SECONDS;
    long pause_ns = 20 * 1000;
    for (;;) {
        pid_t w = wait4(run->pid, &status, WNOHANG, &run->usage);
        if (w == run->pid) {
            run->reaped = true;
            return status;
        }
        if (w < 0 && errno != EINTR)
            return status;
        if (w == 0 && jt_clock_now() >= give_up)
            break;
        struct timespec ts = {0, pause_ns};
        nanosleep(&ts, NULL);
        if (pause_ns < 2 * 1000 * 1000)
            pause_ns *= 2;
    }
    run->overstayed = true;
    kill(run->pid, SIGKILL);
    reap_blocking(run, &status);
    return status;
}

int jt_run_process_finish(jt_run_process_t *run, bool kill_it)
{
    if (kill_it)
        kill(run->pid, SIGKILL);
    close_fd(&run->go_fd); /* a run waiting for "go" sees EOF and leaves */
    int status = 0;
    if (!kill_it)
        status = reap_exiting(run);
    else
        reap_blocking(run, &status);
    close_fd(&run->result_fd);
    close_fd(&run->stdout_fd);
    close_fd(&run->stderr_fd);
    jt_frame_reader_cleanup(&run->reader);
    return status;
}

/* Length of the valid UTF-8 sequence at s[0..len), or 0 when it is not one
 * (overlong forms, surrogates and code points above U+10FFFF are invalid). */
static size_t utf8_sequence(const unsigned char *s, size_t len)
{
    if (s[0] > 0 && s[0] < 0x80)
        return 1;
    size_t n = (s[0] >> 5) == 6 ? 2 : (s[0] >> 4) == 14 ? 3 : (s[0] >> 3) == 30 ? 4 : 0;
    if (n == 0 || n > len)
        return 0;
    uint32_t cp = s[0] & (0x7F >> n);
    for (size_t k = 1; k < n; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3F);
    }
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* Replace every byte that is not part of valid UTF-8 with '?': the tail
 * travels in frames whose strings must be UTF-8. */
static void make_utf8(char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        size_t n = utf8_sequence((const unsigned char *)s + i, len - i);
        if (n == 0)
            s[i++] = '?';
        else
            i += n;
    }
}

static void keep_stderr_tail(jt_run_process_t *run, const char *buf, size_t n)
{
    size_t keep = n > JT_RUN_STDERR_TAIL_BYTES ? JT_RUN_STDERR_TAIL_BYTES : n;
    size_t have = run->stderr_tail_len;
    if (have + keep > JT_RUN_STDERR_TAIL_BYTES) {
        size_t drop = have + keep - JT_RUN_STDERR_TAIL_BYTES;
        memmove(run->stderr_tail, run->stderr_tail + drop, have - drop);
        have -= drop;
    }
    memcpy(run->stderr_tail + have, buf + n - keep, keep);
    run->stderr_tail_len = have + keep;
    run->stderr_tail[run->stderr_tail_len] = '\0';
}

/* Drain one output pipe (bounded per call so a flood cannot starve the
 * caller's deadline checks). */
static long drain(jt_run_process_t *run, int *fd, bool is_stderr)
{
    char buf[16384];
    long total = 0;
    while (total < 1024 * 1024) {
        ssize_t n = read(*fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break; /* EAGAIN: nothing more now */
        if (n == 0) {
            close_fd(fd);
            break;
        }
        total += n;
        if (is_stderr)
            keep_stderr_tail(run, buf, (size_t)n);
    }
    return total;
}

jt_run_event_t jt_run_process_poll(jt_run_process_t *run, int wait_ms, long output_limit,
                                   uint8_t **data, size_t *len)
{
    int done = 0;
    /* A frame may already be complete from an earlier read. */
    if (run->result_fd >= 0) {
        jt_status_t s = jt_frame_reader_read(&run->reader, run->result_fd, &done);
        if (s == JT_ERR_EOF || s == JT_ERR_IO) {
            close_fd(&run->result_fd);
            return JT_RUN_EOF;
        }
        if (s == JT_ERR_TOO_LARGE)
            return JT_RUN_TOO_LARGE;
        if (s != JT_OK)
            return JT_RUN_ERROR;
        if (done) {
            jt_frame_reader_take(&run->reader, data, len);
            return JT_RUN_FRAME;
        }
    }
    struct pollfd pfd[3] = {{.fd = run->result_fd, .events = POLLIN},
                            {.fd = run->stdout_fd, .events = POLLIN},
                            {.fd = run->stderr_fd, .events = POLLIN}};
    int pr = poll(pfd, 3, wait_ms < 0 ? 0 : wait_ms);
    if (pr < 0 && errno != EINTR)
        return JT_RUN_ERROR;
    if (pr <= 0)
        return run->result_fd < 0 ? JT_RUN_EOF : JT_RUN_IDLE;
    if (run->stdout_fd >= 0 && pfd[1].revents)
        run->stdout_bytes += drain(run, &run->stdout_fd, false);
    if (run->stderr_fd >= 0 && pfd[2].revents)
        run->stderr_bytes += drain(run, &run->stderr_fd, true);
    if (run->stdout_bytes > output_limit || run->stderr_bytes > output_limit)
        return JT_RUN_OUTPUT_LIMIT;
    return JT_RUN_IDLE; /* the result pipe is read at the top of the next call */
}

void jt_run_process_describe_exit(const jt_run_process_t *run, int status, char *buf, size_t len)
{
    char what[128];
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        const char *abbrev = sigabbrev_np(sig);
        snprintf(what, sizeof what, "run killed by signal %d (SIG%s)%s", sig,
                 abbrev ? abbrev : "?", sig == SIGXCPU ? ": CPU time limit" : "");
    } else {
        snprintf(what, sizeof what, "run exited with code %d", WEXITSTATUS(status));
    }
    if (run->stderr_tail_len > 0) {
        char tail[JT_RUN_STDERR_TAIL_BYTES + 1];
        memcpy(tail, run->stderr_tail, run->stderr_tail_len + 1);
        make_utf8(tail, run->stderr_tail_len);
        snprintf(buf, len, "%s; stderr: %s", what, tail);
    }
    else
        snprintf(buf, len, "%s", what);
}

const char *jt_run_process_noisy_stream(const jt_run_process_t *run, long output_limit)
{
    return run->stdout_bytes > output_limit ? "stdout" : "stderr";
}
