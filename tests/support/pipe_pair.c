/* pipe_pair.c -- a child's stdout and stderr pipes, read as they fill. */
#include "pipe_pair.h"

#include <errno.h>
#include <poll.h>
#include <unistd.h>

int jt_pipe_pair_read(int fds[2], int timeout_ms, jt_pipe_sink_fn *sink, void *arg)
{
    struct pollfd p[2] = {{.fd = fds[0], .events = POLLIN}, {.fd = fds[1], .events = POLLIN}};
    int r = poll(p, 2, timeout_ms); /* a closed stream has fd -1, which poll skips */
    for (int i = 0; i < 2; i++) {
        if (fds[i] < 0 || !p[i].revents)
            continue;
        char buf[65536];
        ssize_t got = read(fds[i], buf, sizeof buf);
        if (got > 0) {
            sink(arg, i, buf, (size_t)got);
        } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
            close(fds[i]);
            fds[i] = -1;
        }
    }
    return r;
}
