/* test_validation.c -- unit tests of the gate's records: summary, JSON form, bounded copies. */
#include <stdbool.h>
#include <stdlib.h>

#include "unit_main.h"

#include "validation.h"

static char *dup_or_null(const char *s)
{
    if (s == NULL)
        return NULL;
    char *d = strdup(s);
    assert_non_null(d);
    return d;
}

/* Give *v n zeroed records. */
static void make_records(jt_validation_t *v, size_t n)
{
    jt_validation_init(v);
    v->results = calloc(n ? n : 1, sizeof *v->results);
    assert_non_null(v->results);
    v->total_tests = n;
}

static void set_record(jt_validation_t *v, size_t i, const char *id, jt_test_status_t st,
                       const char *message, const char *actual, double seconds)
{
    jt_test_result_t *r = &v->results[i];
    r->test_id = dup_or_null(id);
    r->status = st;
    r->passed = st == JT_TEST_PASSED;
    r->message = dup_or_null(message);
    r->actual_output = dup_or_null(actual);
    r->seconds = seconds;
}

static bool valid_utf8_per_jansson(const char *s)
{
    json_t *j = json_string(s);
    json_decref(j);
    return j != NULL;
}

static void status_names(void **state)
{
    (void)state;
    static const char *const want[JT_TEST_STATUS_COUNT] = {
        "passed",       "wrong_answer", "exception",        "timeout", "memory_limit",
        "output_limit", "crashed",      "not_serializable", "not_run",
    };
    for (int s = 0; s < JT_TEST_STATUS_COUNT; s++)
        assert_string_equal(jt_test_status_name((jt_test_status_t)s), want[s]);
    assert_non_null(jt_test_status_name(JT_TEST_STATUS_COUNT));
    assert_non_null(jt_test_status_name((jt_test_status_t)-1));
}

static void summarise_all_pass(void **state)
{
    (void)state;
    jt_validation_t v;
    make_records(&v, 3);
    set_record(&v, 0, "t1", JT_TEST_PASSED, NULL, "1", 0.01);
    set_record(&v, 1, "t2", JT_TEST_PASSED, NULL, "[1, 2]", 0.02);
    set_record(&v, 2, "t3", JT_TEST_PASSED, NULL, NULL, 0.03);
    assert_int_equal(jt_validation_summarise(&v), 0);
    assert_true(v.is_correct);
    assert_int_equal(v.passed_tests, 3);
    assert_int_equal(v.total_tests, 3);
    assert_true(v.pass_rate == 100.0);
    assert_null(v.error_summary);
    jt_validation_cleanup(&v);
    assert_null(v.results);
    assert_int_equal(v.total_tests, 0);
}

static void summarise_some_fail(void **state)
{
    (void)state;
    jt_validation_t v;
    make_records(&v, 5);
    set_record(&v, 0, "t1", JT_TEST_PASSED, NULL, "1", 0.01);
    set_record(&v, 1, "t2", JT_TEST_PASSED, NULL, "2", 0.01);
    set_record(&v, 2, "t3", JT_TEST_WRONG_ANSWER, "expected 3, got 4\nsecond line", "4", 0.01);
    set_record(&v, 3, "t4", JT_TEST_PASSED, NULL, "4", 0.01);
    set_record(&v, 4, "t5", JT_TEST_EXCEPTION, "ZeroDivisionError: division by zero", NULL, 0.5);
    assert_int_equal(jt_validation_summarise(&v), 0);
    assert_false(v.is_correct);
    assert_int_equal(v.passed_tests, 3);
    assert_true(v.pass_rate == 60.0);
    assert_non_null(v.error_summary);
    assert_string_equal(v.error_summary,
                        "2 of 5 tests failed; first: t3 (wrong_answer): expected 3, got 4");
    /* Summarising again replaces the old summary (no leak, same text). */
    assert_int_equal(jt_validation_summarise(&v), 0);
    assert_string_equal(v.error_summary,
                        "2 of 5 tests failed; first: t3 (wrong_answer): expected 3, got 4");
    jt_validation_cleanup(&v);
    assert_null(v.error_summary);
}

/* An exception is quoted by its last line, the "Type: message" one, also
 * when the traceback's head was cut to keep its tail. */
static void summarise_exception_last_line(void **state)
{
    (void)state;
    jt_validation_t v;
    make_records(&v, 2);
    set_record(&v, 0, "whole", JT_TEST_EXCEPTION,
               "Traceback (most recent call last):\n  File \"<candidate>\", line 3, in solve\n"
               "ValueError: bad input 1\n",
               NULL, 0.1);
    set_record(&v, 1, "cut", JT_TEST_EXCEPTION, "ne 9, in solve\nKeyError: 'x'", NULL, 0.1);
    assert_int_equal(jt_validation_summarise(&v), 0);
    assert_string_equal(v.error_summary,
                        "2 of 2 tests failed; first: whole (exception): ValueError: bad input 1");
    set_record(&v, 0, "whole", JT_TEST_PASSED, NULL, "1", 0.1);
    free(v.results[0].message);
    v.results[0].message = NULL;
    assert_int_equal(jt_validation_summarise(&v), 0);
    assert_string_equal(v.error_summary,
                        "1 of 2 tests failed; first: cut (exception): KeyError: 'x'");
    jt_validation_cleanup(&v);
}

static void summarise_rounding_and_not_run(void **state)
{
    (void)state;
    jt_validation_t v;
    make_records(&v, 3);
    set_record(&v, 0, "a", JT_TEST_PASSED, NULL, NULL, 0.0);
    set_record(&v, 1, "b", JT_TEST_TIMEOUT, NULL, NULL, 30.0);
    set_record(&v, 2, "c", JT_TEST_NOT_RUN, "skipped: stop_on_first_failure", NULL, 0.0);
    assert_int_equal(jt_validation_summarise(&v), 0);
    assert_false(v.is_correct);
    assert_int_equal(v.passed_tests, 1);
    assert_true(v.pass_rate == 33.33);
    assert_string_equal(v.error_summary, "1 of 3 tests failed, 1 not run; first: b (timeout)");
    jt_validation_cleanup(&v);

    make_records(&v, 3);
    set_record(&v, 0, "a", JT_TEST_PASSED, NULL, NULL, 0.0);
    set_record(&v, 1, "b", JT_TEST_PASSED, NULL, NULL, 0.0);
    set_record(&v, 2, "c", JT_TEST_CRASHED, "killed by signal 11", NULL, 0.0);
    assert_int_equal(jt_validation_summarise(&v), 0);
    assert_true(v.pass_rate == 66.67);
    jt_validation_cleanup(&v);

    /* Only skipped tests: the first skipped one is named. */
    make_records(&v, 2);
    set_record(&v, 0, "a", JT_TEST_NOT_RUN, "validation budget exhausted", NULL, 0.0);
    set_record(&v, 1, "b", JT_TEST_NOT_RUN, "validation budget exhausted", NULL, 0.0);
    assert_int_equal(jt_validation_summarise(&v), 0);
    assert_true(v.pass_rate == 0.0);
    assert_string_equal(v.error_summary,
                        "0 of 2 tests failed, 2 not run; first: a (not_run): validation budget "
                        "exhausted");
    jt_validation_cleanup(&v);
}

static void summarise_no_tests(void **state)
{
    (void)state;
    jt_validation_t v;
    jt_validation_init(&v);
    assert_int_equal(jt_validation_summarise(&v), 0);
    assert_false(v.is_correct);
    assert_true(v.pass_rate == 0.0);
    assert_non_null(v.error_summary);
    json_t *j = jt_validation_to_json(&v);
    assert_non_null(j);
    assert_int_equal(json_array_size(json_object_get(j, "test_results")), 0);
    assert_true(json_real_value(json_object_get(j, "pass_rate")) == 0.0);
    json_decref(j);
    jt_validation_cleanup(&v);
}

static void summary_is_bounded(void **state)
{
    (void)state;
    /* A first line of 3000 three-byte characters: the summary must stop at
     * 2 KiB on a character boundary and end with "...". */
    size_t n = 3000 * 3;
    char *msg = malloc(n + 1);
    assert_non_null(msg);
    for (size_t i = 0; i < n; i += 3)
        memcpy(msg + i, "\xe2\x82\xac", 3);
    msg[n] = '\0';
    jt_validation_t v;
    make_records(&v, 1);
    set_record(&v, 0, "t1", JT_TEST_EXCEPTION, NULL, NULL, 0.0);
    v.results[0].message = msg; /* longer than a real record may be: still bounded */
    assert_int_equal(jt_validation_summarise(&v), 0);
    size_t len = strlen(v.error_summary);
    assert_true(len <= 2048);
    assert_true(len > 2000);
    assert_memory_equal(v.error_summary + len - 3, "...", 3);
    assert_true(valid_utf8_per_jansson(v.error_summary));
    jt_validation_cleanup(&v);
}

static void to_json_all_pass(void **state)
{
    (void)state;
    jt_validation_t v;
    make_records(&v, 2);
    set_record(&v, 0, "t1", JT_TEST_PASSED, NULL, "42", 0.25);
    set_record(&v, 1, "t2", JT_TEST_PASSED, NULL, NULL, 0.5);
    assert_int_equal(jt_validation_summarise(&v), 0);
    json_t *j = jt_validation_to_json(&v);
    assert_non_null(j);
    assert_int_equal(json_object_size(j), 6);
    assert_true(json_is_true(json_object_get(j, "is_correct")));
    assert_int_equal(json_integer_value(json_object_get(j, "passed_tests")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "total_tests")), 2);
    assert_true(json_real_value(json_object_get(j, "pass_rate")) == 100.0);
    assert_true(json_is_null(json_object_get(j, "error_summary")));
    json_t *res = json_object_get(j, "test_results");
    assert_int_equal(json_array_size(res), 2);
    json_t *r0 = json_array_get(res, 0), *r1 = json_array_get(res, 1);
    assert_int_equal(json_object_size(r0), 6);
    assert_string_equal(json_string_value(json_object_get(r0, "test_id")), "t1");
    assert_true(json_is_true(json_object_get(r0, "passed")));
    assert_string_equal(json_string_value(json_object_get(r0, "status")), "passed");
    assert_true(json_is_null(json_object_get(r0, "message")));
    assert_string_equal(json_string_value(json_object_get(r0, "actual_output")), "42");
    assert_true(json_real_value(json_object_get(r0, "seconds")) == 0.25);
    assert_string_equal(json_string_value(json_object_get(r1, "test_id")), "t2");
    assert_true(json_is_null(json_object_get(r1, "actual_output")));
    json_decref(j);
    jt_validation_cleanup(&v);
}

static void to_json_some_fail(void **state)
{
    (void)state;
    jt_validation_t v;
    make_records(&v, 3);
    set_record(&v, 0, "t1", JT_TEST_PASSED, NULL, "1", 0.1);
    set_record(&v, 1, "t2", JT_TEST_WRONG_ANSWER, "expected 2, got 3", "3", 0.2);
    set_record(&v, 2, "t3", JT_TEST_MEMORY_LIMIT, "MemoryError", NULL, 0.3);
    assert_int_equal(jt_validation_summarise(&v), 0);
    json_t *j = jt_validation_to_json(&v);
    assert_non_null(j);
    assert_true(json_is_false(json_object_get(j, "is_correct")));
    assert_int_equal(json_integer_value(json_object_get(j, "passed_tests")), 1);
    assert_true(json_real_value(json_object_get(j, "pass_rate")) == 33.33);
    assert_string_equal(json_string_value(json_object_get(j, "error_summary")),
                        "2 of 3 tests failed; first: t2 (wrong_answer): expected 2, got 3");
    json_t *res = json_object_get(j, "test_results");
    assert_int_equal(json_array_size(res), 3);
    json_t *r1 = json_array_get(res, 1), *r2 = json_array_get(res, 2);
    assert_true(json_is_false(json_object_get(r1, "passed")));
    assert_string_equal(json_string_value(json_object_get(r1, "status")), "wrong_answer");
    assert_string_equal(json_string_value(json_object_get(r1, "message")), "expected 2, got 3");
    assert_string_equal(json_string_value(json_object_get(r1, "actual_output")), "3");
    assert_string_equal(json_string_value(json_object_get(r2, "status")), "memory_limit");
    assert_true(json_is_null(json_object_get(r2, "actual_output")));
    /* The whole result serialises (it goes on the wire). */
    char *text = json_dumps(j, JSON_COMPACT);
    assert_non_null(text);
    free(text);
    json_decref(j);
    jt_validation_cleanup(&v);
}

static void to_json_invalid_utf8(void **state)
{
    (void)state;
    jt_validation_t v;
    make_records(&v, 2);
    /* a lone 0xff, a truncated 3-byte sequence, an overlong '/', a surrogate */
    set_record(&v, 0, "t\xff", JT_TEST_EXCEPTION,
               "bad \xff byte, cut \xe2\x82, \xc0\xaf, \xed\xa0\x80.", "b'\\xff' \xfe", 0.0);
    set_record(&v, 1, "t2", JT_TEST_PASSED, NULL, "caf\xc3\xa9", 0.0);
    assert_int_equal(jt_validation_summarise(&v), 0);
    json_t *j = jt_validation_to_json(&v);
    assert_non_null(j);
    json_t *r0 = json_array_get(json_object_get(j, "test_results"), 0);
    assert_string_equal(json_string_value(json_object_get(r0, "test_id")), "t\xef\xbf\xbd");
    assert_string_equal(json_string_value(json_object_get(r0, "message")),
                        "bad \xef\xbf\xbd byte, cut \xef\xbf\xbd\xef\xbf\xbd, "
                        "\xef\xbf\xbd\xef\xbf\xbd, \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd.");
    assert_string_equal(json_string_value(json_object_get(r0, "actual_output")),
                        "b'\\xff' \xef\xbf\xbd");
    const char *summary = json_string_value(json_object_get(j, "error_summary"));
    assert_non_null(summary);
    assert_non_null(strstr(summary, "t\xef\xbf\xbd (exception): bad \xef\xbf\xbd byte"));
    /* valid UTF-8 passes through untouched */
    json_t *r1 = json_array_get(json_object_get(j, "test_results"), 1);
    assert_string_equal(json_string_value(json_object_get(r1, "actual_output")), "caf\xc3\xa9");
    json_decref(j);
    jt_validation_cleanup(&v);
}

static void to_json_non_finite_seconds(void **state)
{
    (void)state;
    jt_validation_t v;
    make_records(&v, 1);
    set_record(&v, 0, "t1", JT_TEST_PASSED, NULL, NULL, 1.0 / 0.0);
    assert_int_equal(jt_validation_summarise(&v), 0);
    json_t *j = jt_validation_to_json(&v);
    assert_non_null(j);
    json_t *r0 = json_array_get(json_object_get(j, "test_results"), 0);
    assert_true(json_is_null(json_object_get(r0, "seconds")));
    json_decref(j);
    jt_validation_cleanup(&v);
}

static void check_bounded(const char *s, size_t max, const char *want)
{
    char *got = jt_strndup_bounded(s, strlen(s), max);
    assert_non_null(got);
    assert_string_equal(got, want);
    assert_true(strlen(got) <= max || strlen(s) <= max);
    free(got);
}

static void strndup_bounded(void **state)
{
    (void)state;
    assert_null(jt_strndup_bounded(NULL, 0, 10));
    check_bounded("", 0, "");
    check_bounded("hello", 10, "hello");
    check_bounded("hello", 5, "hello");
    check_bounded("hello world", 8, "hello...");
    check_bounded("abcd", 3, "...");
    check_bounded("abcd", 2, "ab"); /* no room for "...": plain cut */
    check_bounded("abcd", 0, "");
    /* "é" is 2 bytes, "€" 3, "😀" 4: never split one */
    check_bounded("\xc3\xa9\xc3\xa9\xc3\xa9", 6, "\xc3\xa9\xc3\xa9\xc3\xa9");
    check_bounded("\xc3\xa9\xc3\xa9\xc3\xa9", 5, "\xc3\xa9..."); /* 2 kept bytes */
    check_bounded("\xc3\xa9\xc3\xa9\xc3\xa9", 4, "...");         /* 1 byte would split */
    check_bounded("a\xe2\x82\xac\xe2\x82\xac", 7, "a\xe2\x82\xac\xe2\x82\xac");
    check_bounded("a\xe2\x82\xac\xe2\x82\xac", 6, "a..."); /* 3 bytes would split */
    check_bounded("a\xe2\x82\xac\xe2\x82\xac", 5, "a..."); /* 2 bytes would split */
    check_bounded("ab\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac", 8, "ab\xe2\x82\xac...");
    check_bounded("\xf0\x9f\x98\x80\xf0\x9f\x98\x80", 7, "\xf0\x9f\x98\x80...");
    check_bounded("\xf0\x9f\x98\x80\xf0\x9f\x98\x80", 6, "...");
    check_bounded("x\xf0\x9f\x98\x80\xf0\x9f\x98\x80", 7, "x...");
    check_bounded("xy\xf0\x9f\x98\x80yyyy", 9, "xy\xf0\x9f\x98\x80...");
    /* len, not strlen, decides: a slice of a longer buffer */
    char *got = jt_strndup_bounded("abcdef", 3, 10);
    assert_non_null(got);
    assert_string_equal(got, "abc");
    free(got);
    /* not UTF-8 at all (a run of continuation bytes): still cut within max */
    check_bounded("\x80\x80\x80\x80\x80\x80\x80\x80", 6, "\x80\x80\x80...");
}

static void init_cleanup(void **state)
{
    (void)state;
    jt_validation_t v;
    memset(&v, 0xa5, sizeof v);
    jt_validation_init(&v);
    assert_null(v.results);
    assert_null(v.error_summary);
    assert_int_equal(v.total_tests, 0);
    jt_validation_cleanup(&v); /* on an empty one */
    jt_validation_cleanup(&v); /* twice */
    make_records(&v, 2);
    set_record(&v, 0, "t1", JT_TEST_PASSED, "m", "a", 0.0);
    /* record 1 left all-NULL */
    jt_validation_cleanup(&v);
    assert_null(v.results);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(status_names),
    cmocka_unit_test(summarise_all_pass),
    cmocka_unit_test(summarise_some_fail),
    cmocka_unit_test(summarise_exception_last_line),
    cmocka_unit_test(summarise_rounding_and_not_run),
    cmocka_unit_test(summarise_no_tests),
    cmocka_unit_test(summary_is_bounded),
    cmocka_unit_test(to_json_all_pass),
    cmocka_unit_test(to_json_some_fail),
    cmocka_unit_test(to_json_invalid_utf8),
    cmocka_unit_test(to_json_non_finite_seconds),
    cmocka_unit_test(strndup_bounded),
    cmocka_unit_test(init_cleanup),
};

JT_UNIT_MAIN(tests)
