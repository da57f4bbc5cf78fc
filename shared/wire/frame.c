/* frame.c -- length-prefixed frames over pipes (see frame.h). */
#include "frame.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

jt_status_t jt_frame_write(int fd, const void *data, size_t len)
{
    if (len > JT_FRAME_MAX_BYTES)
        return JT_ERR_TOO_LARGE;
    uint8_t header[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                         (uint8_t)len};
    const uint8_t *parts[2] = {header, data};
    size_t sizes[2] = {4, len};
    for (int p = 0; p < 2; p++) {
        size_t off = 0;
        while (off < sizes[p]) {
            ssize_t w = write(fd, parts[p] + off, sizes[p] - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0 && errno == EAGAIN) {
                struct pollfd pfd = {.fd = fd, .events = POLLOUT};
                (void)poll(&pfd, 1, -1);
                continue;
            }
            if (w <= 0)
                return JT_ERR_IO;
            off += (size_t)w;
        }
    }
    return JT_OK;
}

void jt_frame_reader_init(jt_frame_reader_t *r, size_t max_len)
{
    memset(r, 0, sizeof *r);
    r->max_len = max_len > JT_FRAME_MAX_BYTES ? JT_FRAME_MAX_BYTES : max_len;
}

void jt_frame_reader_cleanup(jt_frame_reader_t *r)
{
    free(r->payload);
    size_t max = r->max_len;
    jt_frame_reader_init(r, max);
}

static int frame_complete(const jt_frame_reader_t *r)
{
    return r->header_have == 4 && r->payload != NULL && r->payload_have == r->payload_len;
}

jt_status_t jt_frame_reader_read(jt_frame_reader_t *r, int fd, int *done)
{
    *done = 0;
    if (frame_complete(r)) {
        *done = 1;
        return JT_OK;
    }
    uint8_t *dst;
    size_t want;
    if (r->header_have < 4) {
        dst = r->header + r->header_have;
        want = 4 - r->header_have;
    } else {
        dst = r->payload + r->payload_have;
        want = r->payload_len - r->payload_have;
    }
    ssize_t n;
    do
        n = read(fd, dst, want);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return (errno == EAGAIN || errno == EWOULDBLOCK) ? JT_OK : JT_ERR_IO;
    if (n == 0)
        return JT_ERR_EOF;
    if (r->header_have < 4) {
        r->header_have += (size_t)n;
        if (r->header_have < 4)
            return JT_OK;
        size_t len = ((size_t)r->header[0] << 24) | ((size_t)r->header[1] << 16) |
                     ((size_t)r->header[2] << 8) | r->header[3];
        if (len > r->max_len)
            return JT_ERR_TOO_LARGE;
        r->payload = malloc(len ? len : 1);
        if (r->payload == NULL)
            return JT_ERR_NOMEM;
        r->payload_len = len;
        r->payload_have = 0;
    } else {
        r->payload_have += (size_t)n;
    }
    *done = frame_complete(r);
    return JT_OK;
}

void jt_frame_reader_take(jt_frame_reader_t *r, uint8_t **data, size_t *len)
{
    *data = r->payload;
    *len = r->payload_len;
    r->payload = NULL;
    r->payload_len = r->payload_have = 0;
    r->header_have = 0;
}

jt_status_t jt_frame_read(int fd, size_t max_len, int timeout_ms, uint8_t **data, size_t *len)
{
    jt_frame_reader_t r;
    jt_frame_reader_init(&r, max_len);
    long long deadline = timeout_ms < 0 ? -1 : jt_clock_now_ms() + timeout_ms;
    jt_status_t s = JT_OK;
    for (;;) {
        int wait_ms = -1;
        if (deadline >= 0) {
            long long left = deadline - jt_clock_now_ms();
            wait_ms = left > 0 ? (int)left : 0; /* 0: still take a frame that is there */
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int pr = poll(&pfd, 1, wait_ms);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0) {
            s = JT_ERR_IO;
            break;
        }
        if (pr == 0) {
            if (deadline >= 0 && jt_clock_now_ms() >= deadline) {
                s = JT_ERR_TIMEOUT;
                break;
            }
            continue;
        }
        int done;
        s = jt_frame_reader_read(&r, fd, &done);
        if (s != JT_OK)
            break;
        if (done) {
            jt_frame_reader_take(&r, data, len);
            break;
        }
    }
    jt_frame_reader_cleanup(&r);
    return s;
}
