/* test_bigint.c -- integers beyond 64 bits: their text rule, JSON in and out, msgpack, comparison.
 */
#include <stdlib.h>

#include "unit_main.h"

#include "compare.h"
#include "job.h"
#include "job_json.h"
#include "json_text.h"
#include "protocol.h"
#include "value.h"

/* The canonical text rule and the 64-bit edges on both sides. */
static void text_rule_and_edges(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int kind;
    } rows[] = {
        {"0", 1},
        {"-1", 1},
        {"9223372036854775807", 1},
        {"18446744073709551615", 1}, /* UINT64_MAX: a plain msgpack integer */
        {"18446744073709551616", 0},
        {"-9223372036854775808", 1},
        {"-9223372036854775809", 0},
        {"1180591620717411303424", 0},
        {"-1208925819614629174706176", 0},
        {"", -1},
        {"-", -1},
        {"-0", -1},
        {"007", -1},
        {"12a", -1},
        {"+5", -1},
        {" 5", -1},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int kind = jt_bigint_text_check(rows[i].text, strlen(rows[i].text));
        if (kind != rows[i].kind)
            fail_msg("%s: %d, expected %d", rows[i].text, kind, rows[i].kind);
    }
    char many[JT_MAX_BIGINT_DIGITS + 2];
    memset(many, '7', sizeof many - 1);
    many[sizeof many - 1] = '\0';
    assert_int_equal(jt_bigint_text_check(many, JT_MAX_BIGINT_DIGITS), 0);
    assert_int_equal(jt_bigint_text_check(many, JT_MAX_BIGINT_DIGITS + 1), -1);
}

/* Literals beyond int64 outside strings are marked; nothing else changes. */
static void json_text_marks_only_big_literals(void **state)
{
    (void)state;
    static const char in[] = "{\"a\": [9223372036854775807, 9223372036854775808, "
                             "-9223372036854775809, 1.5e30, 12345678901234567890.0],"
                             " \"s\": \"99999999999999999999\"}";
    char *out = NULL;
    size_t out_len = 0;
    static const char mark[] = "\\u0000jouletrace-bigint:";
    assert_int_equal(jt_json_mark_bigints(in, strlen(in), mark, sizeof mark - 1, &out, &out_len),
                     0);
    assert_non_null(out);
    assert_int_equal(strlen(out), out_len);
    assert_string_equal(out, "{\"a\": [9223372036854775807, "
                             "\"\\u0000jouletrace-bigint:9223372036854775808\", "
                             "\"\\u0000jouletrace-bigint:-9223372036854775809\", 1.5e30, "
                             "12345678901234567890.0], \"s\": \"99999999999999999999\"}");
    free(out);
    static const char plain[] = "[1, -2, 3.5, \"123456789012345678901234\"]";
    assert_int_equal(
        jt_json_mark_bigints(plain, strlen(plain), mark, sizeof mark - 1, &out, &out_len), 0);
    assert_null(out);
}

/* Decode the JSON body into *job and unpack its first test's inputs into *m. */
static void first_inputs(const char *body, jt_job_t *job, msgpack_unpacked *m)
{
    jt_error_t err;
    jt_job_init(job);
    assert_int_equal(jt_job_from_json(job, body, strlen(body), &err), JT_OK);
    assert_true(jt_mp_unpack_one(m, job->test_cases[0].inputs.data, job->test_cases[0].inputs.len));
}

/* A REST body with 2**70 and -2**80 keeps them exact: msgpack ext in the
 * job, the bare literal when the value is written as JSON again, and
 * UINT64_MAX stays a plain integer. */
static void job_json_keeps_big_integers_exact(void **state)
{
    (void)state;
    static const char body[] =
        "{\"candidate_code\": \"def solve(x, y):\\n  return x\\n\", \"test_cases\": "
        "[{\"inputs\": [1180591620717411303424, -1208925819614629174706176], "
        "\"expected_output\": [18446744073709551615, 1180591620717411303424]}]}";
    jt_job_t job;
    jt_error_t err;
    msgpack_unpacked m;
    first_inputs(body, &job, &m);
    const msgpack_object *x = &m.data.via.array.ptr[0];
    assert_int_equal(x->type, MSGPACK_OBJECT_EXT);
    assert_int_equal(x->via.ext.type, JT_MP_EXT_BIGINT);
    assert_int_equal(x->via.ext.size, 22);
    assert_memory_equal(x->via.ext.ptr, "1180591620717411303424", 22);
    json_t *j = jt_value_to_json(&m.data, &err);
    assert_non_null(j);
    char *text = jt_json_dumps(j, JSON_COMPACT);
    assert_string_equal(text, "[1180591620717411303424,-1208925819614629174706176]");
    free(text);
    json_decref(j);
    msgpack_unpacked_destroy(&m);

    assert_true(jt_mp_unpack_one(&m, job.test_cases[0].expected_output.data,
                                 job.test_cases[0].expected_output.len));
    assert_int_equal(m.data.via.array.ptr[0].type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    assert_true(m.data.via.array.ptr[0].via.u64 == UINT64_MAX);
    msgpack_unpacked_destroy(&m);
    jt_job_cleanup(&job);
}

/* A client string can never pass for a number, not even one written like the
 * public mark: the body decoder marks with a random mark of its own. And a
 * uint64 beyond INT64_MAX goes to JSON and back exact. */
static void no_string_passes_for_a_number(void **state)
{
    (void)state;
    static const char body[] =
        "{\"candidate_code\": \"def solve(x):\\n  return x\\n\", \"test_cases\": "
        "[{\"inputs\": [\"\\u0000jouletrace-bigint:5\", "
        "\"\\u0000jouletrace-bigint:1180591620717411303424\"], \"expected_output\": 1}]}";
    jt_job_t job;
    jt_error_t err;
    msgpack_unpacked m;
    first_inputs(body, &job, &m);
    for (uint32_t i = 0; i < 2; i++)
        assert_int_equal(m.data.via.array.ptr[i].type, MSGPACK_OBJECT_STR);
    msgpack_unpacked_destroy(&m);
    jt_job_cleanup(&job);

    msgpack_object u = {.type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = UINT64_MAX};
    json_t *j = jt_value_to_json(&u, &err);
    assert_non_null(j);
    char *text = jt_json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    assert_string_equal(text, "18446744073709551615");
    free(text);
    jt_blob_t back = {NULL, 0};
    assert_int_equal(jt_value_from_json(j, "", &back, &err), JT_OK);
    assert_true(jt_mp_unpack_one(&m, back.data, back.len));
    assert_int_equal(m.data.type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    assert_true(m.data.via.u64 == UINT64_MAX);
    msgpack_unpacked_destroy(&m);
    jt_blob_free(&back);
    json_decref(j);
}

/* Pack an ext of type `type` holding `text` and unpack it into *m. */
static void ext_value(msgpack_sbuffer *sb, msgpack_unpacked *m, int8_t type, const char *text)
{
    msgpack_packer pk;
    msgpack_sbuffer_init(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_ext(&pk, strlen(text), type);
    msgpack_pack_ext_body(&pk, text, strlen(text));
    msgpack_unpacked_init(m);
    assert_int_equal(msgpack_unpack_next(m, sb->data, sb->size, NULL), MSGPACK_UNPACK_SUCCESS);
}

/* From the bus (msgpack), only canonical big integers of the ext type pass. */
static void msgpack_check_accepts_only_canonical(void **state)
{
    (void)state;
    static const struct {
        int8_t type;
        const char *text;
        bool ok;
    } rows[] = {
        {JT_MP_EXT_BIGINT, "1180591620717411303424", true},
        {JT_MP_EXT_BIGINT, "-1208925819614629174706176", true},
        {JT_MP_EXT_BIGINT, "42", false}, /* fits 64 bits: must be a plain integer */
        {JT_MP_EXT_BIGINT, "01180591620717411303424", false},
        {JT_MP_EXT_BIGINT, "1e30", false},
        {2, "1180591620717411303424", false},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        msgpack_sbuffer sb;
        msgpack_unpacked m;
        ext_value(&sb, &m, rows[i].type, rows[i].text);
        jt_error_t err;
        jt_status_t s = jt_value_check(&m.data, "v", &err);
        if ((s == JT_OK) != rows[i].ok)
            fail_msg("ext %d %s: %s", rows[i].type, rows[i].text,
                     s == JT_OK ? "accepted" : err.message);
        msgpack_unpacked_destroy(&m);
        msgpack_sbuffer_destroy(&sb);
    }
}

/* Big integers compare exactly with each other, never equal a 64-bit one,
 * and compare with floats by value within the tolerances. */
static void comparison(void **state)
{
    (void)state;
    msgpack_sbuffer sa, sb2, sc;
    msgpack_unpacked a, b, c;
    ext_value(&sa, &a, JT_MP_EXT_BIGINT, "1180591620717411303424");
    ext_value(&sb2, &b, JT_MP_EXT_BIGINT, "1180591620717411303424");
    ext_value(&sc, &c, JT_MP_EXT_BIGINT, "1180591620717411303425");
    assert_true(jt_values_equal(&a.data, &b.data, NULL));
    assert_false(jt_values_equal(&a.data, &c.data, NULL));
    msgpack_object small = {.type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = UINT64_MAX};
    assert_false(jt_values_equal(&a.data, &small, NULL));
    msgpack_object f = {.type = MSGPACK_OBJECT_FLOAT64, .via.f64 = 1180591620717411303424.0};
    assert_true(jt_values_equal(&a.data, &f, NULL));
    assert_true(jt_values_equal(&f, &c.data, NULL)); /* 1 in 1e21: inside the default tolerance */
    jt_tolerance_t exact = {0.0, 0.0};
    assert_false(jt_values_equal(&f, &c.data, &exact));
    msgpack_object s = {.type = MSGPACK_OBJECT_STR, .via.str = {22, "1180591620717411303424"}};
    assert_false(jt_values_equal(&a.data, &s, NULL));
    msgpack_unpacked_destroy(&a);
    msgpack_unpacked_destroy(&b);
    msgpack_unpacked_destroy(&c);
    msgpack_sbuffer_destroy(&sa);
    msgpack_sbuffer_destroy(&sb2);
    msgpack_sbuffer_destroy(&sc);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(text_rule_and_edges),
    cmocka_unit_test(json_text_marks_only_big_literals),
    cmocka_unit_test(job_json_keeps_big_integers_exact),
    cmocka_unit_test(no_string_passes_for_a_number),
    cmocka_unit_test(msgpack_check_accepts_only_canonical),
    cmocka_unit_test(comparison),
};

JT_UNIT_MAIN(tests)
