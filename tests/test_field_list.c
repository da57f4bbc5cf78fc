/* test_field_list.c -- unit tests of the bounded known-fields list (shared/wire/field_list.c). */
#include <stdlib.h>

#include "unit_main.h"

#include "field_list.h"
#include "job.h"
#include "job_msgpack.h"

#define GUARD 0x5A

static void all_fit(void **state)
{
    (void)state;
    static const char *const names[] = {"a", "bb", "ccc"};
    char out[64];
    assert_int_equal(jt_field_list(out, sizeof out, names, 3), 3);
    assert_string_equal(out, "a, bb, ccc");
}

/* cap exactly the text and its NUL: every name; one byte less: cut with ", ...". */
static void exact_fit(void **state)
{
    (void)state;
    static const char *const names[] = {"a", "bb", "ccc"};
    char out[11];
    assert_int_equal(jt_field_list(out, 11, names, 3), 3);
    assert_string_equal(out, "a, bb, ccc");
    assert_int_equal(jt_field_list(out, 10, names, 3), 1);
    assert_string_equal(out, "a, ...");
}

static void empty_list(void **state)
{
    (void)state;
    char out[8] = "xxxxxxx";
    assert_int_equal(jt_field_list(out, sizeof out, NULL, 0), 0);
    assert_string_equal(out, "");
}

/* No name fits: "..." when it fits, "" when even that does not, nothing at cap 0. */
static void tiny_buffers(void **state)
{
    (void)state;
    static const char *const names[] = {"abcdefgh", "b"};
    char out[8];
    assert_int_equal(jt_field_list(out, 5, names, 2), 0);
    assert_string_equal(out, "...");
    assert_int_equal(jt_field_list(out, 4, names, 2), 0);
    assert_string_equal(out, "...");
    assert_int_equal(jt_field_list(out, 3, names, 2), 0);
    assert_string_equal(out, "");
    assert_int_equal(jt_field_list(out, 1, names, 2), 0);
    assert_string_equal(out, "");
    out[0] = GUARD;
    assert_int_equal(jt_field_list(out, 0, names, 2), 0);
    assert_int_equal((unsigned char)out[0], GUARD);
}

/* A long first name stops the list there: no later, shorter name jumps the queue. */
static void long_name_first(void **state)
{
    (void)state;
    char big[400];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    const char *names[] = {big, "a"};
    char out[300];
    assert_int_equal(jt_field_list(out, sizeof out, names, 2), 0);
    assert_string_equal(out, "...");
}

/* 200 names of 60 bytes into 300 bytes: four names and ", ...", nothing written past the
 * buffer (a heap block of exactly 300 bytes, so ASan sees any overflow; guard bytes after
 * it in a plain build). */
static void long_list_bounded(void **state)
{
    (void)state;
    enum { N = 200, LEN = 60, CAP = 300, SLACK = 64 };
    char(*storage)[LEN + 1] = calloc(N, sizeof *storage);
    const char **names = calloc(N, sizeof *names);
    assert_non_null(storage);
    assert_non_null(names);
    for (int i = 0; i < N; i++) {
        memset(storage[i], 'a' + i % 26, LEN);
        storage[i][0] = (char)('0' + i % 10);
        names[i] = storage[i];
    }
    char *exact = malloc(CAP);
    char *guarded = malloc(CAP + SLACK);
    assert_non_null(exact);
    assert_non_null(guarded);
    memset(guarded, GUARD, CAP + SLACK);

    char want[CAP];
    snprintf(want, sizeof want, "%s, %s, %s, %s, ...", names[0], names[1], names[2], names[3]);
    assert_int_equal(strlen(want), 4 * LEN + 3 * 2 + 5);

    assert_int_equal(jt_field_list(exact, CAP, names, N), 4);
    assert_string_equal(exact, want);
    assert_int_equal(jt_field_list(guarded, CAP, names, N), 4);
    assert_string_equal(guarded, want);
    for (size_t i = CAP; i < CAP + SLACK; i++)
        assert_int_equal((unsigned char)guarded[i], GUARD);

    /* Every capacity up to the whole list: bounded, terminated, ends in a name or "...". */
    for (size_t cap = 1; cap <= CAP; cap++) {
        memset(guarded, GUARD, CAP + SLACK);
        size_t n = jt_field_list(guarded, cap, names, N);
        size_t len = strlen(guarded);
        assert_true(len < cap);
        assert_true(n < N);
        assert_true(len == 0 || (len >= 3 && memcmp(guarded + len - 3, "...", 3) == 0));
        for (size_t i = cap; i < CAP + SLACK; i++)
            assert_int_equal((unsigned char)guarded[i], GUARD);
    }
    free(exact);
    free(guarded);
    free(names);
    free(storage);
}

/* The decoder's message: the job's sixteen fields fit whole. */
static void msgpack_unknown_field_message(void **state)
{
    (void)state;
    static const uint8_t bogus[] = {0x81, 0xa5, 'b', 'o', 'g', 'u', 's', 0x01};
    jt_job_t job;
    jt_job_init(&job);
    jt_error_t err;
    assert_int_equal(jt_job_from_msgpack(&job, bogus, sizeof bogus, &err), JT_ERR_UNKNOWN_FIELD);
    assert_string_equal(err.path, "bogus");
    assert_string_equal(
        err.message,
        "unknown field (known fields: task_id, candidate_code, function_name, test_cases, "
        "timeout_seconds, memory_limit_mb, energy_measurement_trials, warmup_trials, "
        "min_trial_seconds, target_cv_percent, thermal_wait_seconds, candidate_id, "
        "problem_name, comparison, stop_on_first_failure, repetition_mode, callback_url)");
    jt_job_cleanup(&job);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(all_fit),
    cmocka_unit_test(exact_fit),
    cmocka_unit_test(empty_list),
    cmocka_unit_test(tiny_buffers),
    cmocka_unit_test(long_name_first),
    cmocka_unit_test(long_list_bounded),
    cmocka_unit_test(msgpack_unknown_field_message),
};

JT_UNIT_MAIN(tests)
