/* test_frame.c -- unit tests of length-prefixed frames over real pipes (shared/frame.c). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "unit_main.h"

#include "frame.h"

static void make_pipe(int fds[2])
{
    assert_int_equal(pipe(fds), 0);
}

static void set_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    assert_true(fl >= 0);
    assert_int_equal(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
}

static void write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        assert_true(w > 0);
        p += w;
        len -= (size_t)w;
    }
}

static void write_header(int fd, uint32_t len)
{
    uint8_t h[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
    write_all(fd, h, 4);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A recognisable payload: byte i is (i * 31 + seed) mod 251. */
static uint8_t *pattern(size_t len, unsigned seed)
{
    uint8_t *p = malloc(len ? len : 1);
    assert_non_null(p);
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)((i * 31 + seed) % 251);
    return p;
}

static void expect_frame(int fd, size_t max_len, const void *want, size_t want_len)
{
    uint8_t *data = NULL;
    size_t len = 12345;
    assert_int_equal(jt_frame_read(fd, max_len, 5000, &data, &len), JT_OK);
    assert_non_null(data);
    assert_int_equal(len, want_len);
    if (want_len > 0)
        assert_memory_equal(data, want, want_len);
    free(data);
}

static void expect_status(int fd, size_t max_len, int timeout_ms, jt_status_t want)
{
    uint8_t *data = NULL;
    size_t len = 0;
    assert_int_equal(jt_frame_read(fd, max_len, timeout_ms, &data, &len), want);
    assert_null(data); /* outputs are set only on success */
}

static void round_trip_small(void **state)
{
    (void)state;
    int p[2];
    make_pipe(p);
    assert_int_equal(jt_frame_write(p[1], "hello", 5), JT_OK);
    expect_frame(p[0], 1024, "hello", 5);
    close(p[1]);
    expect_status(p[0], 1024, 5000, JT_ERR_EOF);
    close(p[0]);
}

/* Frames larger than the pipe buffer need a concurrent writer. */
static void round_trip_large(void **state)
{
    (void)state;
    const size_t sizes[] = {1, 4096, 65535, 65536, 65537, 3 * 1024 * 1024 + 7};
    const size_t n = sizeof sizes / sizeof sizes[0];
    int p[2];
    make_pipe(p);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        for (size_t i = 0; i < n; i++) {
            uint8_t *d = pattern(sizes[i], (unsigned)i);
            if (jt_frame_write(p[1], d, sizes[i]) != JT_OK)
                _exit(1);
            free(d);
        }
        _exit(0);
    }
    close(p[1]);
    for (size_t i = 0; i < n; i++) {
        uint8_t *want = pattern(sizes[i], (unsigned)i);
        expect_frame(p[0], 4 * 1024 * 1024, want, sizes[i]);
        free(want);
    }
    expect_status(p[0], 1024, 5000, JT_ERR_EOF);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(p[0]);
}

/* Frames written back to back are read one at a time: the reader never
 * consumes bytes of the next frame. */
static void back_to_back(void **state)
{
    (void)state;
    int p[2];
    make_pipe(p);
    assert_int_equal(jt_frame_write(p[1], "one", 3), JT_OK);
    assert_int_equal(jt_frame_write(p[1], "", 0), JT_OK);
    assert_int_equal(jt_frame_write(p[1], "three", 5), JT_OK);
    close(p[1]);
    expect_frame(p[0], 16, "one", 3);
    expect_frame(p[0], 16, "", 0);
    expect_frame(p[0], 16, "three", 5);
    expect_status(p[0], 16, 5000, JT_ERR_EOF);
    close(p[0]);
}

static void empty_frame(void **state)
{
    (void)state;
    int p[2];
    make_pipe(p);
    assert_int_equal(jt_frame_write(p[1], NULL, 0), JT_OK);
    uint8_t raw[8];
    set_nonblocking(p[0]);
    assert_int_equal(read(p[0], raw, sizeof raw), 4); /* just the header */
    assert_memory_equal(raw, "\0\0\0\0", 4);
    write_all(p[1], raw, 4);
    expect_frame(p[0], 0, NULL, 0); /* max_len 0 still admits an empty frame */
    close(p[0]);
    close(p[1]);
}

static void too_large_on_read(void **state)
{
    (void)state;
    uint8_t *d = pattern(100, 1);
    int p[2];
    make_pipe(p);
    assert_int_equal(jt_frame_write(p[1], d, 100), JT_OK);
    expect_status(p[0], 99, 5000, JT_ERR_TOO_LARGE);
    close(p[0]);
    close(p[1]);

    make_pipe(p); /* exactly max_len is fine */
    assert_int_equal(jt_frame_write(p[1], d, 100), JT_OK);
    expect_frame(p[0], 100, d, 100);
    close(p[0]);
    close(p[1]);

    /* A header announcing 4 GiB - 1 fails at once, without allocating it. */
    make_pipe(p);
    write_header(p[1], 0xffffffffu);
    expect_status(p[0], JT_FRAME_MAX_BYTES, 5000, JT_ERR_TOO_LARGE);
    close(p[0]);
    close(p[1]);
    free(d);
}

static void too_large_on_write(void **state)
{
    (void)state;
    int p[2];
    make_pipe(p);
    static const char small[1];
    /* Refused before anything is written (the buffer is never read). */
    assert_int_equal(jt_frame_write(p[1], small, (size_t)JT_FRAME_MAX_BYTES + 1), JT_ERR_TOO_LARGE);
    set_nonblocking(p[0]);
    char c;
    errno = 0;
    assert_int_equal(read(p[0], &c, 1), -1);
    assert_int_equal(errno, EAGAIN);
    close(p[0]);
    close(p[1]);
}

static void reader_max_clamped(void **state)
{
    (void)state;
    jt_frame_reader_t r;
    jt_frame_reader_init(&r, SIZE_MAX);
    assert_int_equal(r.max_len, JT_FRAME_MAX_BYTES);
    jt_frame_reader_cleanup(&r);
    assert_int_equal(r.max_len, JT_FRAME_MAX_BYTES);
    jt_frame_reader_init(&r, 10);
    assert_int_equal(r.max_len, 10);
    jt_frame_reader_cleanup(&r);
}

static void eof_mid_frame(void **state)
{
    (void)state;
    int p[2];
    make_pipe(p); /* header says 10, only 3 bytes come */
    write_header(p[1], 10);
    write_all(p[1], "abc", 3);
    close(p[1]);
    expect_status(p[0], 1024, 5000, JT_ERR_EOF);
    close(p[0]);

    make_pipe(p); /* half a header */
    write_all(p[1], "\0\0", 2);
    close(p[1]);
    expect_status(p[0], 1024, 5000, JT_ERR_EOF);
    close(p[0]);

    make_pipe(p); /* nothing at all */
    close(p[1]);
    expect_status(p[0], 1024, 5000, JT_ERR_EOF);
    close(p[0]);
}

static void timeout(void **state)
{
    (void)state;
    int p[2];
    make_pipe(p);
    long long t0 = now_ms();
    expect_status(p[0], 1024, 100, JT_ERR_TIMEOUT);
    long long waited = now_ms() - t0;
    assert_true(waited >= 95);
    assert_true(waited < 3000);

    /* A partial frame does not reset the deadline. */
    write_header(p[1], 10);
    write_all(p[1], "abc", 3);
    t0 = now_ms();
    expect_status(p[0], 1024, 100, JT_ERR_TIMEOUT);
    waited = now_ms() - t0;
    assert_true(waited >= 95);
    assert_true(waited < 3000);
    close(p[0]);
    close(p[1]);
}

/* Feed a non-blocking pipe one byte at a time; the reader reports "need more"
 * until the last byte, then hands over the frame, then the next one. */
static void byte_by_byte(void **state)
{
    (void)state;
    int p[2];
    make_pipe(p);
    set_nonblocking(p[0]);
    jt_frame_reader_t r;
    jt_frame_reader_init(&r, 64);
    int done = -1;
    assert_int_equal(jt_frame_reader_read(&r, p[0], &done), JT_OK); /* EAGAIN */
    assert_int_equal(done, 0);

    const char *payloads[] = {"frame one", "", "x"};
    for (size_t f = 0; f < 3; f++) {
        size_t plen = strlen(payloads[f]);
        uint8_t wire[64];
        wire[0] = wire[1] = wire[2] = 0;
        wire[3] = (uint8_t)plen;
        memcpy(wire + 4, payloads[f], plen);
        for (size_t i = 0; i < 4 + plen; i++) {
            write_all(p[1], &wire[i], 1);
            assert_int_equal(jt_frame_reader_read(&r, p[0], &done), JT_OK);
            assert_int_equal(done, i == 3 + plen);
            if (!done) { /* nothing more to read yet: still not done */
                assert_int_equal(jt_frame_reader_read(&r, p[0], &done), JT_OK);
                assert_int_equal(done, 0);
            }
        }
        /* Asking again before take keeps reporting the complete frame. */
        assert_int_equal(jt_frame_reader_read(&r, p[0], &done), JT_OK);
        assert_int_equal(done, 1);
        uint8_t *data;
        size_t len;
        jt_frame_reader_take(&r, &data, &len);
        assert_non_null(data);
        assert_int_equal(len, plen);
        assert_memory_equal(data, payloads[f], plen);
        free(data);
    }
    close(p[1]);
    assert_int_equal(jt_frame_reader_read(&r, p[0], &done), JT_ERR_EOF);
    jt_frame_reader_cleanup(&r);
    close(p[0]);
}

/* Cleanup in the middle of a frame frees the partial payload (ASan checks). */
static void cleanup_mid_frame(void **state)
{
    (void)state;
    int p[2];
    make_pipe(p);
    set_nonblocking(p[0]);
    write_header(p[1], 8);
    write_all(p[1], "abcd", 4);
    jt_frame_reader_t r;
    jt_frame_reader_init(&r, 64);
    int done = 1;
    for (int i = 0; i < 3; i++)
        assert_int_equal(jt_frame_reader_read(&r, p[0], &done), JT_OK);
    assert_int_equal(done, 0);
    assert_non_null(r.payload);
    jt_frame_reader_cleanup(&r);
    assert_null(r.payload);
    assert_int_equal(r.header_have, 0);
    close(p[0]);
    close(p[1]);
}

static void write_to_closed_pipe(void **state)
{
    (void)state;
    struct sigaction sa = {.sa_handler = SIG_IGN}, old;
    assert_int_equal(sigaction(SIGPIPE, &sa, &old), 0);
    int p[2];
    make_pipe(p);
    close(p[0]);
    errno = 0;
    assert_int_equal(jt_frame_write(p[1], "x", 1), JT_ERR_IO);
    assert_int_equal(errno, EPIPE);
    close(p[1]);
    sigaction(SIGPIPE, &old, NULL);
}

/* A non-blocking write end that fills up: jt_frame_write waits for room. */
static void write_nonblocking_full_pipe(void **state)
{
    (void)state;
    const size_t size = 1024 * 1024;
    int p[2];
    make_pipe(p);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[1]);
        usleep(50 * 1000); /* let the writer hit a full pipe first */
        uint8_t *data;
        size_t len;
        if (jt_frame_read(p[0], size, 10000, &data, &len) != JT_OK || len != size)
            _exit(1);
        uint8_t *want = pattern(size, 9);
        int same = memcmp(data, want, size) == 0;
        free(want);
        free(data);
        _exit(same ? 0 : 2);
    }
    close(p[0]);
    set_nonblocking(p[1]);
    uint8_t *d = pattern(size, 9);
    assert_int_equal(jt_frame_write(p[1], d, size), JT_OK);
    free(d);
    close(p[1]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static void bad_fd(void **state)
{
    (void)state;
    int p[2];
    make_pipe(p);
    close(p[0]);
    close(p[1]);
    assert_int_equal(jt_frame_write(p[1], "x", 1), JT_ERR_IO);
    expect_status(p[0], 16, 100, JT_ERR_IO);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(round_trip_small),
    cmocka_unit_test(round_trip_large),
    cmocka_unit_test(back_to_back),
    cmocka_unit_test(empty_frame),
    cmocka_unit_test(too_large_on_read),
    cmocka_unit_test(too_large_on_write),
    cmocka_unit_test(reader_max_clamped),
    cmocka_unit_test(eof_mid_frame),
    cmocka_unit_test(timeout),
    cmocka_unit_test(byte_by_byte),
    cmocka_unit_test(cleanup_mid_frame),
    cmocka_unit_test(write_to_closed_pipe),
    cmocka_unit_test(write_nonblocking_full_pipe),
    cmocka_unit_test(bad_fd),
};

JT_UNIT_MAIN(tests)
