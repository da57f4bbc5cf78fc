/* job_msgpack_helpers.c -- msgpack jobs built by hand for jt_job_from_msgpack, and what to expect.
 */
#include "job_msgpack_helpers.h"

#include <string.h>

#include "job_json_helpers.h"
#include "job_msgpack.h"
#include "unit_main.h"

void mp_init(mp_t *m)
{
    msgpack_sbuffer_init(&m->sb);
    msgpack_packer_init(&m->pk, &m->sb, msgpack_sbuffer_write);
}

void mp_str(mp_t *m, const char *s)
{
    size_t n = strlen(s);
    assert_int_equal(msgpack_pack_str(&m->pk, n), 0);
    assert_int_equal(msgpack_pack_str_body(&m->pk, s, n), 0);
}

void mp_raw(mp_t *m, const char *bytes, size_t n)
{
    assert_int_equal(msgpack_sbuffer_write(&m->sb, bytes, n), 0);
}

void mp_job_with(mp_t *m, const char *inputs, size_t inputs_len, const char *key, const char *value,
                 size_t value_len)
{
    mp_init(m);
    msgpack_pack_map(&m->pk, key ? 3 : 2);
    mp_str(m, "candidate_code");
    mp_str(m, "def solve(a):\n    return a\n");
    mp_str(m, "test_cases");
    msgpack_pack_array(&m->pk, 1);
    msgpack_pack_map(&m->pk, 2);
    mp_str(m, "inputs");
    mp_raw(m, inputs, inputs_len);
    mp_str(m, "expected_output");
    msgpack_pack_int(&m->pk, 1);
    if (key != NULL) {
        mp_str(m, key);
        mp_raw(m, value, value_len);
    }
}

void expect_mp_error(const void *data, size_t len, jt_status_t code, const char *path)
{
    jt_job_t job;
    jt_job_init(&job);
    jt_error_t err;
    memset(&err, 0, sizeof err);
    jt_status_t st = jt_job_from_msgpack(&job, data, len, &err);
    if (st != code || strcmp(err.path, path) != 0)
        print_error("want %s at '%s', got %s at '%s': %s\n", jt_status_name(code), path,
                    jt_status_name(st), err.path, err.message);
    assert_int_equal(st, code);
    assert_int_equal(err.code, code);
    assert_string_equal(err.path, path);
    assert_true(err.message[0] != '\0');
    assert_job_clean(&job);
}

void expect_mp_job_error(const char *inputs, size_t inputs_len, const char *key, const char *value,
                         size_t value_len, jt_status_t code, const char *path)
{
    mp_t m;
    mp_job_with(&m, inputs, inputs_len, key, value, value_len);
    expect_mp_error(m.sb.data, m.sb.size, code, path);
    msgpack_sbuffer_destroy(&m.sb);
}

void mp_decode_ok(const void *data, size_t len, jt_job_t *job)
{
    jt_job_init(job);
    jt_error_t err;
    jt_status_t st = jt_job_from_msgpack(job, data, len, &err);
    if (st != JT_OK)
        print_error("got %s at '%s': %s\n", jt_status_name(st), err.path, err.message);
    assert_int_equal(st, JT_OK);
}

void mp_job_with_ok(const char *inputs, size_t inputs_len, const char *key, const char *value,
                    size_t value_len, jt_job_t *job)
{
    mp_t m;
    mp_job_with(&m, inputs, inputs_len, key, value, value_len);
    mp_decode_ok(m.sb.data, m.sb.size, job);
    msgpack_sbuffer_destroy(&m.sb);
}
