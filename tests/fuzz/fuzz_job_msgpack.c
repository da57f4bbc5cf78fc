/* fuzz_job_msgpack.c -- libFuzzer target: jt_job_from_msgpack (the job on the bus) on any bytes.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_check.h"
#include "protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The values a publisher sent are the values the worker gets: each test case's inputs
 * and expected output are the canonical encoding of those in the input, read here by the
 * plain value decoder. */
static void check_same_as_input(const jt_job_t *job, const uint8_t *data, size_t size)
{
    msgpack_zone *z = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);
    msgpack_object root;
    jt_error_t err;
    if (z == NULL || jt_unpack_value(data, size, z, &root, &err) != JT_OK)
        abort();
    const msgpack_object *cases = jt_mp_find(&root, "test_cases");
    if (cases == NULL || cases->type != MSGPACK_OBJECT_ARRAY ||
        cases->via.array.size != job->n_test_cases)
        abort();
    for (size_t i = 0; i < job->n_test_cases; i++) {
        const msgpack_object *tc = &cases->via.array.ptr[i];
        const msgpack_object *inputs = jt_mp_find(tc, "inputs");
        const msgpack_object *expected = jt_mp_find(tc, "expected_output");
        const jt_blob_t *tc_in = &job->test_cases[i].inputs;
        const jt_blob_t *tc_out = &job->test_cases[i].expected_output;
        if (inputs == NULL || expected == NULL || !fuzz_packs_to(inputs, tc_in->data, tc_in->len) ||
            !fuzz_packs_to(expected, tc_out->data, tc_out->len))
            abort();
    }
    msgpack_zone_free(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    jt_job_t job;
    jt_error_t err;
    jt_job_init(&job);
    memset(&err, 0, sizeof err);
    jt_status_t st = jt_job_from_msgpack(&job, data, size, &err);
    if (st == JT_OK) {
        fuzz_check_job(&job);
        check_same_as_input(&job, data, size);
    } else {
        fuzz_check_failure(st, &err, &job);
    }
    jt_job_cleanup(&job);
    return 0;
}
