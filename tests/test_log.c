/* test_log.c -- unit tests of the JSON-lines logger (shared/log.c), capturing stderr in a pipe. */
#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "unit_main.h"

#include "log.h"

/* ---- stderr capture ----------------------------------------------------- */

typedef struct {
    int saved_stderr;
    int read_fd;
} capture_t;

static void capture_begin(capture_t *c)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    c->saved_stderr = dup(STDERR_FILENO);
    assert_true(c->saved_stderr >= 0);
    assert_true(dup2(p[1], STDERR_FILENO) == STDERR_FILENO);
    close(p[1]);
    c->read_fd = p[0];
}

/* Restore stderr and return everything written meanwhile (caller frees). */
static char *capture_end(capture_t *c)
{
    assert_true(dup2(c->saved_stderr, STDERR_FILENO) == STDERR_FILENO);
    close(c->saved_stderr);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (;;) {
        if (len + 1 == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        ssize_t n = read(c->read_fd, buf + len, cap - 1 - len);
        assert_true(n >= 0);
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    close(c->read_fd);
    return buf;
}

static size_t count_lines(const char *text)
{
    size_t n = 0;
    for (const char *p = text; *p; p++)
        n += *p == '\n';
    return n;
}

/* Parse line number i (0-based) of text as one JSON object. */
static json_t *line_json(const char *text, size_t i)
{
    const char *p = text;
    for (size_t k = 0; k < i; k++) {
        p = strchr(p, '\n');
        assert_non_null(p);
        p++;
    }
    const char *end = strchr(p, '\n');
    assert_non_null(end); /* every line ends with a newline */
    json_error_t jerr;
    json_t *j = json_loadb(p, (size_t)(end - p), 0, &jerr);
    if (j == NULL)
        fail_msg("line %zu is not JSON (%s): %.*s", i, jerr.text, (int)(end - p), p);
    assert_true(json_is_object(j));
    return j;
}

static const char *str_field(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (s == NULL)
        fail_msg("field %s missing or not a string", key);
    return s;
}

/* "YYYY-MM-DDTHH:MM:SS.ffffffZ", UTC, within a minute of now. */
static void check_time(const char *t)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
    assert_int_equal(strlen(t), strlen(shape));
    for (size_t i = 0; shape[i]; i++) {
        if (shape[i] == 'd')
            assert_true(isdigit((unsigned char)t[i]));
        else
            assert_int_equal(t[i], shape[i]);
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    assert_non_null(strptime(t, "%Y-%m-%dT%H:%M:%S", &tm));
    time_t when = timegm(&tm);
    long long skew = (long long)when - (long long)time(NULL);
    assert_true(skew > -60 && skew < 60);
}

/* ---- cases --------------------------------------------------------------- */

static void line_format(void **state)
{
    (void)state;
    jt_log_setup("tester", JT_LOG_DEBUG);
    capture_t c;
    capture_begin(&c);
    jt_log(JT_LOG_INFO, NULL, "hello %d", 42);
    char *out = capture_end(&c);
    assert_int_equal(count_lines(out), 1);
    json_t *j = line_json(out, 0);
    assert_int_equal(json_object_size(j), 4);
    check_time(str_field(j, "time"));
    assert_string_equal(str_field(j, "level"), "info");
    assert_string_equal(str_field(j, "component"), "tester");
    assert_string_equal(str_field(j, "message"), "hello 42");
    assert_null(json_object_get(j, "task_id"));
    json_decref(j);
    free(out);
}

static void task_id_only_when_given(void **state)
{
    (void)state;
    jt_log_setup("worker", JT_LOG_DEBUG);
    capture_t c;
    capture_begin(&c);
    jt_log(JT_LOG_WARN, "task-123", "with task");
    jt_log(JT_LOG_WARN, NULL, "without task");
    jt_log(JT_LOG_ERROR, "", "empty task id is still given");
    char *out = capture_end(&c);
    assert_int_equal(count_lines(out), 3);
    json_t *a = line_json(out, 0), *b = line_json(out, 1), *e = line_json(out, 2);
    assert_int_equal(json_object_size(a), 5);
    assert_string_equal(str_field(a, "task_id"), "task-123");
    assert_string_equal(str_field(a, "level"), "warn");
    assert_string_equal(str_field(a, "component"), "worker");
    assert_int_equal(json_object_size(b), 4);
    assert_null(json_object_get(b, "task_id"));
    assert_string_equal(str_field(e, "task_id"), "");
    assert_string_equal(str_field(e, "level"), "error");
    json_decref(a);
    json_decref(b);
    json_decref(e);
    free(out);
}

static void level_filtering(void **state)
{
    (void)state;
    static const char *const names[] = {"debug", "info", "warn", "error"};
    for (int min = JT_LOG_DEBUG; min <= JT_LOG_ERROR; min++) {
        jt_log_setup("filter", (jt_log_level_t)min);
        capture_t c;
        capture_begin(&c);
        jt_log_debug("d");
        jt_log_info("i");
        jt_log_warn("w");
        jt_log_error("e");
        jt_log((jt_log_level_t)(JT_LOG_ERROR + 1), NULL, "out of range");
        char *out = capture_end(&c);
        size_t want = (size_t)(JT_LOG_ERROR - min + 1);
        assert_int_equal(count_lines(out), want);
        for (size_t k = 0; k < want; k++) {
            json_t *j = line_json(out, k);
            assert_string_equal(str_field(j, "level"), names[(size_t)min + k]);
            json_decref(j);
        }
        free(out);
    }
}

static void level_parse(void **state)
{
    (void)state;
    assert_int_equal(jt_log_level_parse("debug"), JT_LOG_DEBUG);
    assert_int_equal(jt_log_level_parse("info"), JT_LOG_INFO);
    assert_int_equal(jt_log_level_parse("warn"), JT_LOG_WARN);
    assert_int_equal(jt_log_level_parse("error"), JT_LOG_ERROR);
    assert_int_equal(jt_log_level_parse("Info"), -1);
    assert_int_equal(jt_log_level_parse("warning"), -1);
    assert_int_equal(jt_log_level_parse(""), -1);
}

static void special_characters_stay_one_line(void **state)
{
    (void)state;
    jt_log_setup("tester", JT_LOG_DEBUG);
    const char *msg = "say \"hi\"\nsecond line\r\n\ttab \\ backslash \x01 ctrl / caf\xc3\xa9";
    capture_t c;
    capture_begin(&c);
    jt_log(JT_LOG_INFO, "t\"1\n", "%s", msg);
    char *out = capture_end(&c);
    assert_int_equal(count_lines(out), 1);
    json_t *j = line_json(out, 0);
    assert_string_equal(str_field(j, "message"), msg);
    assert_string_equal(str_field(j, "task_id"), "t\"1\n");
    json_decref(j);
    free(out);
}

static void long_message_truncated(void **state)
{
    (void)state;
    jt_log_setup("tester", JT_LOG_DEBUG);
    char *big = malloc(10001);
    assert_non_null(big);
    memset(big, 'a', 10000);
    big[10000] = '\0';
    capture_t c;
    capture_begin(&c);
    jt_log(JT_LOG_INFO, NULL, "%s", big);
    char *out = capture_end(&c);
    assert_int_equal(count_lines(out), 1);
    json_t *j = line_json(out, 0);
    const char *m = str_field(j, "message");
    assert_true(strlen(m) >= 4000 && strlen(m) <= 4096);
    assert_memory_equal(m, big, strlen(m));
    json_decref(j);
    free(out);
    free(big);
}

/* A long message of multi-byte characters is cut on a character boundary:
 * what is kept is still a prefix of the message. */
static void long_utf8_message_truncated(void **state)
{
    (void)state;
    jt_log_setup("tester", JT_LOG_DEBUG);
    char *big = malloc(6001);
    assert_non_null(big);
    for (size_t i = 0; i < 6000; i += 2)
        memcpy(big + i, "\xc3\xa9", 2);
    big[6000] = '\0';
    capture_t c;
    capture_begin(&c);
    jt_log(JT_LOG_INFO, NULL, "%s", big);
    char *out = capture_end(&c);
    assert_int_equal(count_lines(out), 1);
    json_t *j = line_json(out, 0);
    const char *m = str_field(j, "message");
    assert_true(strlen(m) >= 4000 && strlen(m) <= 4096);
    assert_memory_equal(m, big, strlen(m));
    json_decref(j);
    free(out);
    free(big);
}

/* Bytes that are not UTF-8 never cost the line: it is still one JSON object. */
static void invalid_utf8_still_logged(void **state)
{
    (void)state;
    jt_log_setup("tester", JT_LOG_DEBUG);
    capture_t c;
    capture_begin(&c);
    jt_log(JT_LOG_ERROR, NULL, "bad byte \xff here");
    jt_log(JT_LOG_ERROR, "task-\xfe", "bad task id");
    char *out = capture_end(&c);
    assert_int_equal(count_lines(out), 2);
    json_t *a = line_json(out, 0), *b = line_json(out, 1);
    assert_string_equal(str_field(a, "level"), "error");
    assert_non_null(json_string_value(json_object_get(a, "message")));
    assert_string_equal(str_field(b, "message"), "bad task id");
    json_decref(a);
    json_decref(b);
    free(out);
}

static void component_bounded(void **state)
{
    (void)state;
    char name[200];
    memset(name, 'c', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    jt_log_setup(name, JT_LOG_DEBUG);
    capture_t c;
    capture_begin(&c);
    jt_log_info("x");
    char *out = capture_end(&c);
    json_t *j = line_json(out, 0);
    const char *comp = str_field(j, "component");
    assert_true(strlen(comp) > 0 && strlen(comp) < sizeof name - 1);
    assert_memory_equal(comp, name, strlen(comp));
    json_decref(j);
    free(out);
}

/* Processes logging at once into one pipe: every line stays whole. */
static void concurrent_lines_never_interleave(void **state)
{
    (void)state;
    enum { WRITERS = 4, LINES = 300 };
    jt_log_setup("many", JT_LOG_DEBUG);
    capture_t c;
    capture_begin(&c);
    pid_t pids[WRITERS];
    for (int w = 0; w < WRITERS; w++) {
        pids[w] = fork();
        if (pids[w] == 0) {
            for (int i = 0; i < LINES; i++)
                jt_log(JT_LOG_INFO, "task", "writer %d line %d %s", w, i,
                       "padding padding padding padding padding padding padding padding");
            _exit(0);
        }
    }
    char *out = capture_end(&c); /* reads until every writer has exited */
    for (int w = 0; w < WRITERS; w++) {
        int st;
        assert_int_equal(waitpid(pids[w], &st, 0), pids[w]);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    assert_int_equal(count_lines(out), WRITERS * LINES);
    for (size_t k = 0; k < WRITERS * LINES; k++) {
        json_t *j = line_json(out, k);
        assert_non_null(strstr(str_field(j, "message"), "writer "));
        json_decref(j);
    }
    free(out);
}

/* True when every byte of s equals its first one (one writer's message). */
static bool all_same(const char *s)
{
    for (const char *p = s; *p; p++)
        if (*p != s[0])
            return false;
    return true;
}

/* Near-4 KiB messages from several processes: a line longer than PIPE_BUF
 * is not written atomically to a pipe, so the logger must keep every line
 * within PIPE_BUF for them to stay whole. */
static void long_lines_never_interleave(void **state)
{
    (void)state;
    enum { WRITERS = 4, LINES = 300 };
    jt_log_setup("many", JT_LOG_DEBUG);
    capture_t c;
    capture_begin(&c);
    pid_t pids[WRITERS];
    for (int w = 0; w < WRITERS; w++) {
        pids[w] = fork();
        if (pids[w] == 0) {
            char m[4001];
            memset(m, 'a' + w, 4000);
            m[4000] = '\0';
            for (int i = 0; i < LINES; i++)
                jt_log(JT_LOG_INFO, "task", "%s", m);
            _exit(0);
        }
    }
    char *out = capture_end(&c);
    for (int w = 0; w < WRITERS; w++) {
        int st;
        assert_int_equal(waitpid(pids[w], &st, 0), pids[w]);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    assert_int_equal(count_lines(out), WRITERS * LINES);
    size_t bad = 0;
    const char *p = out;
    for (size_t k = 0; k < WRITERS * LINES; k++) {
        const char *end = strchr(p, '\n');
        json_t *j = json_loadb(p, (size_t)(end - p), 0, NULL);
        const char *m = j ? json_string_value(json_object_get(j, "message")) : NULL;
        if (m == NULL || (size_t)(end - p) + 1 > PIPE_BUF || strlen(m) < 3000 || !all_same(m))
            bad++;
        json_decref(j);
        p = end + 1;
    }
    if (bad > 0)
        fail_msg("%zu of %d lines were torn or too long", bad, WRITERS * LINES);
    free(out);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(line_format),
    cmocka_unit_test(task_id_only_when_given),
    cmocka_unit_test(level_filtering),
    cmocka_unit_test(level_parse),
    cmocka_unit_test(special_characters_stay_one_line),
    cmocka_unit_test(long_message_truncated),
    cmocka_unit_test(long_utf8_message_truncated),
    cmocka_unit_test(invalid_utf8_still_logged),
    cmocka_unit_test(component_bounded),
    cmocka_unit_test(concurrent_lines_never_interleave),
    cmocka_unit_test(long_lines_never_interleave),
};

JT_UNIT_MAIN(tests)
