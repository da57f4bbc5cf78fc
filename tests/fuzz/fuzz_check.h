/* fuzz_check.h -- invariants shared by the fuzz targets of the decoders; any violation aborts. */
#ifndef JT_FUZZ_CHECK_H
#define JT_FUZZ_CHECK_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "job.h"
#include "job_msgpack.h"
#include "status.h"
#include "task_id.h"
#include "unpack.h"
#include "value.h"

/* An error a decoder filled: the code it returned, a path and a message that are
 * NUL-terminated within their buffers, and a message that says something. */
static inline void fuzz_check_error_text(jt_status_t st, const jt_error_t *err)
{
    if (st == JT_OK || err->code != st || err->message[0] == '\0' ||
        strnlen(err->path, sizeof err->path) == sizeof err->path ||
        strnlen(err->message, sizeof err->message) == sizeof err->message)
        abort();
}

/* As fuzz_check_error_text, and path and message are valid UTF-8: the gateway puts both
 * into a JSON error, jansson refuses anything else. */
static inline void fuzz_check_error(jt_status_t st, const jt_error_t *err)
{
    fuzz_check_error_text(st, err);
    json_t *p = json_string(err->path);
    json_t *m = json_string(err->message);
    if (p == NULL || m == NULL)
        abort();
    json_decref(p);
    json_decref(m);
}

/* A failed parse reports its own code with a message, and leaves the job as after
 * jt_job_init. */
static inline void fuzz_check_failure(jt_status_t st, const jt_error_t *err, const jt_job_t *job)
{
    jt_job_t fresh;
    jt_job_init(&fresh);
    fuzz_check_error(st, err);
    if (memcmp(job, &fresh, sizeof fresh) != 0)
        abort();
}

/* Whether pred holds for o or for any value inside it (map keys are strings, not visited). */
static inline bool fuzz_any(const msgpack_object *o, bool (*pred)(const msgpack_object *))
{
    if (pred(o))
        return true;
    if (o->type == MSGPACK_OBJECT_ARRAY) {
        for (uint32_t i = 0; i < o->via.array.size; i++)
            if (fuzz_any(&o->via.array.ptr[i], pred))
                return true;
    } else if (o->type == MSGPACK_OBJECT_MAP) {
        for (uint32_t i = 0; i < o->via.map.size; i++)
            if (fuzz_any(&o->via.map.ptr[i].val, pred))
                return true;
    }
    return false;
}

/* A string that begins with JT_BIGINT_MARK: jt_value_from_json reads such a JSON string as
 * the integer it names (value.h), so it does not come back from JSON as a string. */
static inline bool fuzz_is_marked_string(const msgpack_object *o)
{
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size >= JT_BIGINT_MARK_LEN &&
           memcmp(o->via.str.ptr, JT_BIGINT_MARK, JT_BIGINT_MARK_LEN) == 0;
}

/* The value as JSON (new reference): jt_value_to_json converts every checked client value
 * (integers beyond INT64_MAX as marked strings); only running out of memory may refuse. */
static inline json_t *fuzz_value_json(const msgpack_object *o)
{
    jt_error_t err;
    memset(&err, 0, sizeof err);
    json_t *j = jt_value_to_json(o, &err);
    if (j == NULL) {
        fuzz_check_error(err.code, &err);
        if (err.code != JT_ERR_NOMEM)
            abort();
    }
    return j;
}

/* Unpack a job blob into *o, in a zone the caller frees; aborts when the blob is no checked
 * client value. */
static inline msgpack_zone *fuzz_blob_value(const jt_blob_t *b, msgpack_object *o)
{
    jt_error_t err;
    msgpack_zone *z = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);
    if (z == NULL || jt_unpack_value(b->data, b->len, z, o, &err) != JT_OK)
        abort();
    return z;
}

/* Every blob of an accepted job is one checked client value with a JSON form (but for
 * integers above INT64_MAX). */
static inline void fuzz_check_blob(const jt_blob_t *b)
{
    msgpack_object o;
    if (b->data == NULL)
        return;
    msgpack_zone *z = fuzz_blob_value(b, &o);
    json_decref(fuzz_value_json(&o));
    msgpack_zone_free(z);
}

/* A string the job carries: present when required, and at most max bytes. */
static inline void fuzz_check_name(const char *s, size_t max, bool required)
{
    if ((s == NULL && required) || (s != NULL && strlen(s) > max))
        abort();
}

/* Whether x lies in [lo, hi] and is finite. */
static inline bool fuzz_in_range(double x, double lo, double hi)
{
    return isfinite(x) && x >= lo && x <= hi;
}

/* Every bound of job.h holds for an accepted job. */
static inline void fuzz_check_bounds(const jt_job_t *job)
{
    if (job->task_id != NULL && !jt_task_id_valid(job->task_id))
        abort();
    fuzz_check_name(job->function_name, JT_MAX_NAME_BYTES, true);
    if (job->function_name[0] == '\0')
        abort();
    fuzz_check_name(job->candidate_id, JT_MAX_NAME_BYTES, false);
    fuzz_check_name(job->problem_name, JT_MAX_NAME_BYTES, false);
    if (job->candidate_code_len > JT_MAX_CODE_BYTES || job->n_test_cases > JT_MAX_TEST_CASES)
        abort();
    if (!fuzz_in_range(job->timeout_seconds, JT_MIN_TIMEOUT_SECONDS, JT_MAX_TIMEOUT_SECONDS) ||
        job->memory_limit_mb < JT_MIN_MEMORY_LIMIT_MB ||
        job->memory_limit_mb > JT_MAX_MEMORY_LIMIT_MB ||
        job->energy_measurement_trials < JT_MIN_TRIALS ||
        job->energy_measurement_trials > JT_MAX_TRIALS || job->warmup_trials < 0 ||
        job->warmup_trials > JT_MAX_WARMUP_TRIALS ||
        !fuzz_in_range(job->min_trial_seconds, 0, JT_MAX_MIN_TRIAL_SECONDS) ||
        !fuzz_in_range(job->target_cv_percent, 0, JT_MAX_TARGET_CV_PERCENT) ||
        job->target_cv_percent == 0 ||
        !fuzz_in_range(job->thermal_wait_seconds, 0, JT_MAX_THERMAL_WAIT_SECONDS) ||
        !fuzz_in_range(job->abs_tol, 0, INFINITY) || !fuzz_in_range(job->rel_tol, 0, INFINITY))
        abort();
    for (size_t i = 0; i < job->n_test_cases; i++)
        fuzz_check_name(job->test_cases[i].test_id, JT_MAX_NAME_BYTES, true);
}

/* An accepted job is within its bounds and survives the bus: encode, decode and encode
 * again give the same bytes. */
static inline void fuzz_check_job(const jt_job_t *job)
{
    if (job->function_name == NULL || job->candidate_code == NULL || job->n_test_cases == 0 ||
        strlen(job->candidate_code) != job->candidate_code_len)
        abort();
    fuzz_check_bounds(job);
    for (size_t i = 0; i < job->n_test_cases; i++) {
        const jt_test_case_t *tc = &job->test_cases[i];
        if (tc->test_id == NULL || tc->inputs.data == NULL || tc->expected_output.data == NULL)
            abort();
        fuzz_check_blob(&tc->inputs);
        fuzz_check_blob(&tc->expected_output);
        fuzz_check_blob(&tc->metadata);
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

/* Pack o canonically into sb, initialised here (msgpack_pack_object picks the shortest
 * forms; two values pack alike exactly when they have the same types, the same order and
 * the same bits). The caller destroys sb. */
static inline void fuzz_pack(msgpack_sbuffer *sb, const msgpack_object *o)
{
    msgpack_packer pk;
    msgpack_sbuffer_init(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    if (msgpack_pack_object(&pk, *o) != 0)
        abort();
}

/* Whether o packs canonically to the len bytes at data. */
static inline bool fuzz_packs_to(const msgpack_object *o, const void *data, size_t len)
{
    msgpack_sbuffer sb;
    fuzz_pack(&sb, o);
    bool same = sb.size == len && memcmp(sb.data, data, len) == 0;
    msgpack_sbuffer_destroy(&sb);
    return same;
}

/* Whether a and b are the same value: same types, same order, floats bit for bit (so that
 * a NaN is the same as itself). */
static inline bool fuzz_same_value(const msgpack_object *a, const msgpack_object *b)
{
    msgpack_sbuffer sb;
    fuzz_pack(&sb, b);
    bool same = fuzz_packs_to(a, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    return same;
}

#endif
