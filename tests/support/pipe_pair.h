/* pipe_pair.h -- a child's stdout and stderr pipes, read as they fill. */
#ifndef JT_TESTS_PIPE_PAIR_H
#define JT_TESTS_PIPE_PAIR_H

#include <stddef.h>

/* Where jt_pipe_pair_read hands what it read: stream 0 (stdout) or 1 (stderr), n > 0 bytes. */
typedef void jt_pipe_sink_fn(void *arg, int stream, const char *data, size_t n);

/* Wait up to timeout_ms until fds[0] (stdout) or fds[1] (stderr) is readable, then read once
 * from each that is, handing the bytes to sink(arg, stream, ...). A stream at its end, or one
 * whose read fails other than by EINTR or EAGAIN, is closed and set to -1 (and skipped from
 * then on). Returns poll's result: 0 when nothing was ready in time. */
int jt_pipe_pair_read(int fds[2], int timeout_ms, jt_pipe_sink_fn *sink, void *arg);

#endif
