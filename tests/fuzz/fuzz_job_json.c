/* fuzz_job_json.c -- libFuzzer target: jt_job_from_json (the REST body) on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_check.h"
#include "job_json.h"
#include "json_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether the JSON string member key of obj holds exactly s (absent or null when s is NULL). */
static bool member_is(json_t *obj, const char *key, const char *s)
{
    json_t *v = json_object_get(obj, key);
    if (s == NULL)
        return v == NULL || json_is_null(v);
    return json_is_string(v) && json_string_length(v) == strlen(s) &&
           memcmp(json_string_value(v), s, strlen(s)) == 0;
}

/* Whether a test value the worker gets is the one the body holds: the same JSON once
 * converted back. Not asserted for a value with an integer above INT64_MAX (no JSON form,
 * fuzz_value_json) nor for a body that spells a NUL ("\u0000"): a string of the body that
 * begins with JT_BIGINT_MARK is read as the integer it names (value.h). */
static void check_value(const jt_blob_t *blob, json_t *sent, bool body_has_nul)
{
    msgpack_object o;
    msgpack_zone *z = fuzz_blob_value(blob, &o);
    json_t *got = fuzz_value_json(&o);
    if (got != NULL && !body_has_nul && !json_equal(got, sent))
        abort();
    json_decref(got);
    msgpack_zone_free(z);
}

/* What the client sent is what the worker gets: the code, the names and every test
 * case's inputs and expected output are those of the body, read here by jansson after
 * the same marking of big integers (json_text.h). */
static void check_same_as_body(const jt_job_t *job, const uint8_t *data, size_t size)
{
    char *marked = NULL;
    size_t marked_len = 0;
    const char *text = (const char *)data;
    /* the public mark, which the worker's JSON of a big integer carries too */
    static const char mark_json[] = "\\u0000jouletrace-bigint:";
    if (jt_json_mark_bigints(text, size, mark_json, sizeof mark_json - 1, &marked, &marked_len) !=
        0)
        abort();
    json_error_t je;
    json_t *root = json_loadb(marked ? marked : text, marked ? marked_len : size,
                              JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    json_t *cases = json_object_get(root, "test_cases");
    if (!json_is_object(root) || json_array_size(cases) != job->n_test_cases ||
        !member_is(root, "candidate_code", job->candidate_code) ||
        !member_is(root, "task_id", job->task_id) ||
        !member_is(root, "candidate_id", job->candidate_id) ||
        !member_is(root, "problem_name", job->problem_name))
        abort();
    bool has_nul = memmem(data, size, "\\u0000", 6) != NULL;
    for (size_t i = 0; i < job->n_test_cases; i++) {
        json_t *tc = json_array_get(cases, i);
        check_value(&job->test_cases[i].inputs, json_object_get(tc, "inputs"), has_nul);
        check_value(&job->test_cases[i].expected_output, json_object_get(tc, "expected_output"),
                    has_nul);
    }
    json_decref(root);
    free(marked);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    jt_job_t job;
    jt_error_t err;
    jt_job_init(&job);
    memset(&err, 0, sizeof err);
    jt_status_t st = jt_job_from_json(&job, (const char *)data, size, &err);
    if (st == JT_OK) {
        fuzz_check_job(&job);
        check_same_as_body(&job, data, size);
    } else {
        fuzz_check_failure(st, &err, &job);
    }
    jt_job_cleanup(&job);
    return 0;
}
