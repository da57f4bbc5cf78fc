/* fuzz_check.h -- invariants shared by the codec fuzz targets; any violation aborts. */
#ifndef JT_FUZZ_CHECK_H
#define JT_FUZZ_CHECK_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "job.h"
#include "job_msgpack.h"
#include "status.h"
#include "unpack.h"
#include "value.h"

/* A failed parse reports its own code, leaves the job as after jt_job_init, and names
 * path and message in valid UTF-8 (the gateway puts both into a JSON error). */
static inline void fuzz_check_failure(jt_status_t st, const jt_error_t *err, const jt_job_t *job)
{
    jt_job_t fresh;
    jt_job_init(&fresh);
    if (st == JT_OK || err->code != st || memcmp(job, &fresh, sizeof fresh) != 0)
        abort();
    json_t *p = json_string(err->path);
    json_t *m = json_string(err->message);
    if (p == NULL || m == NULL)
        abort();
    json_decref(p);
    json_decref(m);
}

/* Every blob of an accepted job is one checked client value, convertible to JSON
 * unless it holds an integer above INT64_MAX (possible from msgpack only). */
static inline void fuzz_check_blob(const jt_blob_t *b, bool from_json)
{
    if (b->data == NULL)
        return;
    msgpack_zone *z = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);
    msgpack_object o;
    jt_error_t err;
    if (z == NULL || jt_unpack_value(b->data, b->len, z, &o, &err) != JT_OK)
        abort();
    json_t *j = jt_value_to_json(&o, &err);
    if (j == NULL && (from_json || err.code != JT_ERR_INVALID))
        abort();
    json_decref(j);
    msgpack_zone_free(z);
}

/* An accepted job survives the bus: encode, decode and encode again give the same bytes. */
static inline void fuzz_check_job(const jt_job_t *job, bool from_json)
{
    if (job->function_name == NULL || job->candidate_code == NULL || job->n_test_cases == 0 ||
        strlen(job->candidate_code) != job->candidate_code_len)
        abort();
    for (size_t i = 0; i < job->n_test_cases; i++) {
        const jt_test_case_t *tc = &job->test_cases[i];
        if (tc->test_id == NULL || tc->inputs.data == NULL || tc->expected_output.data == NULL)
            abort();
        fuzz_check_blob(&tc->inputs, from_json);
        fuzz_check_blob(&tc->expected_output, from_json);
        fuzz_check_blob(&tc->metadata, from_json);
    }
    uint8_t *a, *b;
    size_t na, nb;
    jt_job_t back;
    jt_error_t err;
    jt_job_init(&back);
    if (jt_job_to_msgpack(job, &a, &na) != JT_OK ||
        jt_job_from_msgpack(&back, a, na, &err) != JT_OK ||
        jt_job_to_msgpack(&back, &b, &nb) != JT_OK)
        abort();
    if (na != nb || memcmp(a, b, na) != 0)
        abort();
    free(a);
    free(b);
    jt_job_cleanup(&back);
}

#endif
