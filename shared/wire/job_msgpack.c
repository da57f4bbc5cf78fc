/* job_msgpack.c -- the job as a msgpack map: schema walker (decode) and encoder.
 *
 * Pure functions, callable from any thread. Bytes are decoded by jt_unpack_value
 * (unpack.c), which also checks every value; this file applies the job schema.
 */
#include "job_msgpack.h"
#include "value.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "callback_url.h"
#include "field_list.h"
#include "task_id.h"
#include "unpack.h"

/* ---- schema walker -------------------------------------------------------------- */
/* Runs on a tree that jt_unpack_value accepted: map keys are valid UTF-8 strings. */


static jt_status_t wrong_type(jt_error_t *err, const char *path, const char *expected,
                              const msgpack_object *o)
{
    return jt_error_set(err, JT_ERR_INVALID, path, "expected %s, got %s", expected,
                        jt_value_type_name(o->type));
}

/* parent + "." + key into out (capacity cap), cut at a UTF-8 character boundary. */
static void child_path(char *out, size_t cap, const char *parent, const char *key, size_t key_len)
{
    int n = snprintf(out, cap, "%s%s", parent, parent[0] != '\0' ? "." : "");
    size_t used = n < 0 ? 0 : (size_t)n >= cap ? cap - 1 : (size_t)n;
    size_t room = cap - 1 - used;
    if (key_len > room) {
        key_len = room;
        while (key_len > 0 && ((unsigned char)key[key_len] & 0xC0) == 0x80)
            key_len--;
    }
    memcpy(out + used, key, key_len);
    out[used + key_len] = '\0';
}

static int field_index(const char *const *names, int count, const msgpack_object *key)
{
    if (key->type != MSGPACK_OBJECT_STR)
        return -1;
    for (int i = 0; i < count; i++) {
        if (strlen(names[i]) == key->via.str.size &&
            memcmp(names[i], key->via.str.ptr, key->via.str.size) == 0)
            return i;
    }
    return -1;
}

/* Reports an unknown key or a repeated one (msgpack maps, unlike our JSON parser, let a
 * key appear twice). Returns JT_OK for a new known field and records it in *seen. */
static jt_status_t check_key(const msgpack_object_kv *kv, const char *parent,
                             const char *const *names, int count, int f, uint32_t *seen,
                             jt_error_t *err)
{
    char path[sizeof err->path];
    const char *key = kv->key.type == MSGPACK_OBJECT_STR ? kv->key.via.str.ptr : "?";
    size_t key_len = kv->key.type == MSGPACK_OBJECT_STR ? kv->key.via.str.size : 1;
    if (f >= 0 && (*seen & (1u << f)) == 0) {
        *seen |= 1u << f;
        return JT_OK;
    }
    child_path(path, sizeof path, parent, key, key_len);
    if (f >= 0)
        return jt_error_set(err, JT_ERR_INVALID, path, "field appears more than once");
    char known[300];
    jt_field_list(known, sizeof known, names, (size_t)count);
    return jt_error_set(err, JT_ERR_UNKNOWN_FIELD, path, "unknown field (known fields: %s)", known);
}

static jt_status_t get_string(const msgpack_object *o, const char *path, size_t max, char **out,
                              size_t *out_len, jt_error_t *err)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return wrong_type(err, path, "a string", o);
    size_t n = o->via.str.size;
    if (n > max)
        return jt_error_set(err, JT_ERR_TOO_LARGE, path,
                            "string is %zu bytes; the limit is %zu bytes", n, max);
    if (memchr(o->via.str.ptr, 0, n) != NULL)
        return jt_error_set(err, JT_ERR_INVALID, path, "string must not contain a NUL character");
    char *s = malloc(n + 1);
    if (s == NULL)
        return jt_error_set(err, JT_ERR_NOMEM, path, "out of memory");
    memcpy(s, o->via.str.ptr, n);
    s[n] = '\0';
    *out = s;
    if (out_len != NULL)
        *out_len = n;
    return JT_OK;
}

/* %.15g, with ".0" added to integral values so that a float never reads as an integer. */
static void format_float(char *buf, size_t cap, double d)
{
    int n = snprintf(buf, cap, "%.15g", d);
    if (n > 0 && (size_t)n + 2 < cap && strspn(buf, "-0123456789") == (size_t)n)
        memcpy(buf + n, ".0", 3);
}

static jt_status_t get_int(const msgpack_object *o, const char *path, int lo, int hi, int *out,
                           jt_error_t *err)
{
    if (o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64) {
        char num[40];
        format_float(num, sizeof num, o->via.f64);
        return jt_error_set(err, JT_ERR_INVALID, path,
                            "expected an integer from %d to %d, got the floating-point number %s "
                            "(write integers without a fraction or exponent)",
                            lo, hi, num);
    }
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if ((lo <= 0 || o->via.u64 >= (uint64_t)lo) && hi >= 0 && o->via.u64 <= (uint64_t)hi) {
            *out = (int)o->via.u64;
            return JT_OK;
        }
        return jt_error_set(err, JT_ERR_INVALID, path,
                            "expected an integer from %d to %d, got %llu", lo, hi,
                            (unsigned long long)o->via.u64);
    }
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        if (o->via.i64 >= lo && o->via.i64 <= hi) {
            *out = (int)o->via.i64;
            return JT_OK;
        }
        return jt_error_set(err, JT_ERR_INVALID, path,
                            "expected an integer from %d to %d, got %lld", lo, hi,
                            (long long)o->via.i64);
    }
    char expected[64];
    snprintf(expected, sizeof expected, "an integer from %d to %d", lo, hi);
    return wrong_type(err, path, expected, o);
}

typedef struct {
    double lo, hi;
    bool lo_open; /* lo itself is excluded */
    bool has_hi;
} range_t;

static jt_status_t get_number(const msgpack_object *o, const char *path, range_t rg, double *out,
                              jt_error_t *err)
{
    char expected[96];
    if (!rg.has_hi)
        snprintf(expected, sizeof expected, "a finite number >= %g", rg.lo);
    else if (rg.lo_open)
        snprintf(expected, sizeof expected, "a number greater than %g and at most %g", rg.lo,
                 rg.hi);
    else
        snprintf(expected, sizeof expected, "a number from %g to %g", rg.lo, rg.hi);

    double d;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        d = (double)o->via.u64;
    else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        d = (double)o->via.i64;
    else if (o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64)
        d = o->via.f64;
    else
        return wrong_type(err, path, expected, o);
    if (isnan(d))
        return jt_error_set(err, JT_ERR_INVALID, path, "expected %s, got NaN", expected);
    bool ok = isfinite(d) && (rg.lo_open ? d > rg.lo : d >= rg.lo) && (!rg.has_hi || d <= rg.hi);
    if (!ok)
        return jt_error_set(err, JT_ERR_INVALID, path, "expected %s, got %.15g", expected, d);
    *out = d;
    return JT_OK;
}

static jt_status_t get_bool(const msgpack_object *o, const char *path, bool *out, jt_error_t *err)
{
    if (o->type != MSGPACK_OBJECT_BOOLEAN)
        return wrong_type(err, path, "a boolean (true or false)", o);
    *out = o->via.boolean;
    return JT_OK;
}

/* Re-encode a client value canonically (msgpack_pack_object picks the shortest forms). */
static jt_status_t get_blob(const msgpack_object *o, const char *path, msgpack_sbuffer *sb,
                            jt_blob_t *out, jt_error_t *err)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    if (msgpack_pack_object(&pk, *o) != 0) {
        msgpack_sbuffer_clear(sb);
        return jt_error_set(err, JT_ERR_NOMEM, path, "out of memory");
    }
    out->len = sb->size;
    out->data = (uint8_t *)msgpack_sbuffer_release(sb);
    return JT_OK;
}

static const char *const python_keywords[] = {
    "False", "None",     "True",  "and",    "as",   "assert", "async",  "await",    "break",
    "class", "continue", "def",   "del",    "elif", "else",   "except", "finally",  "for",
    "from",  "global",   "if",    "import", "in",   "is",     "lambda", "nonlocal", "not",
    "or",    "pass",     "raise", "return", "try",  "while",  "with",   "yield",
};

static bool is_identifier(const char *s)
{
    if (!(s[0] == '_' || (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
        return false;
    for (const char *p = s + 1; *p; p++) {
        if (!(*p == '_' || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
              (*p >= '0' && *p <= '9')))
            return false;
    }
    for (size_t i = 0; i < sizeof python_keywords / sizeof python_keywords[0]; i++) {
        if (strcmp(s, python_keywords[i]) == 0)
            return false;
    }
    return true;
}

enum { TC_ID, TC_INPUTS, TC_EXPECTED, TC_METADATA, TC_COUNT };
static const char *const tc_fields[TC_COUNT] = {"test_id", "inputs", "expected_output", "metadata"};

static jt_status_t parse_test_case(const msgpack_object *v, size_t idx, jt_test_case_t *tc,
                                   msgpack_sbuffer *sb, jt_error_t *err)
{
    char base[64], path[96];
    snprintf(base, sizeof base, "test_cases[%zu]", idx);
    if (v->type != MSGPACK_OBJECT_MAP)
        return wrong_type(err, base, "an object with inputs and expected_output", v);
    uint32_t seen = 0;
    jt_status_t st = JT_OK;
    for (uint32_t i = 0; i < v->via.map.size && st == JT_OK; i++) {
        const msgpack_object_kv *kv = &v->via.map.ptr[i];
        int f = field_index(tc_fields, TC_COUNT, &kv->key);
        st = check_key(kv, base, tc_fields, TC_COUNT, f, &seen, err);
        if (st != JT_OK || f < 0) /* f < 0 implies an error; said for the compiler */
            break;
        snprintf(path, sizeof path, "%s.%s", base, tc_fields[f]);
        const msgpack_object *val = &kv->val;
        switch (f) {
        case TC_ID:
            if (val->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
                val->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
                char num[32];
                if (val->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                    snprintf(num, sizeof num, "%llu", (unsigned long long)val->via.u64);
                else
                    snprintf(num, sizeof num, "%lld", (long long)val->via.i64);
                tc->test_id = strdup(num);
                if (tc->test_id == NULL)
                    st = jt_error_set(err, JT_ERR_NOMEM, path, "out of memory");
            } else if (val->type == MSGPACK_OBJECT_STR) {
                st = get_string(val, path, JT_MAX_NAME_BYTES, &tc->test_id, NULL, err);
            } else if (val->type != MSGPACK_OBJECT_NIL) {
                st = wrong_type(err, path, "a string or an integer", val);
            }
            break;
        case TC_INPUTS:
            st = get_blob(val, path, sb, &tc->inputs, err);
            break;
        case TC_EXPECTED:
            st = get_blob(val, path, sb, &tc->expected_output, err);
            break;
        case TC_METADATA:
            if (val->type != MSGPACK_OBJECT_NIL)
                st = get_blob(val, path, sb, &tc->metadata, err);
            break;
        }
    }
    if (st != JT_OK)
        return st;
    for (int f = TC_INPUTS; f <= TC_EXPECTED; f++) {
        if ((seen & (1u << f)) == 0) {
            snprintf(path, sizeof path, "%s.%s", base, tc_fields[f]);
            return jt_error_set(err, JT_ERR_MISSING, path, "every test case needs %s",
                                tc_fields[f]);
        }
    }
    if (tc->test_id == NULL) {
        char id[32];
        snprintf(id, sizeof id, "t%zu", idx + 1);
        tc->test_id = strdup(id);
        if (tc->test_id == NULL)
            return jt_error_set(err, JT_ERR_NOMEM, base, "out of memory");
    }
    return JT_OK;
}

static jt_status_t parse_test_cases(const msgpack_object *v, jt_job_t *job, msgpack_sbuffer *sb,
                                    jt_error_t *err)
{
    if (v->type != MSGPACK_OBJECT_ARRAY)
        return wrong_type(err, "test_cases", "a non-empty array of test cases", v);
    size_t n = v->via.array.size;
    if (n == 0)
        return jt_error_set(err, JT_ERR_INVALID, "test_cases", "needs at least one test case");
    if (n > JT_MAX_TEST_CASES)
        return jt_error_set(err, JT_ERR_TOO_LARGE, "test_cases", "%zu test cases; the limit is %u",
                            n, JT_MAX_TEST_CASES);
    job->test_cases = calloc(n, sizeof *job->test_cases);
    if (job->test_cases == NULL)
        return jt_error_set(err, JT_ERR_NOMEM, "test_cases", "out of memory");
    job->n_test_cases = n;
    for (size_t i = 0; i < n; i++) {
        jt_status_t st = parse_test_case(&v->via.array.ptr[i], i, &job->test_cases[i], sb, err);
        if (st != JT_OK)
            return st;
    }
    /* Results are named by test_id: two alike (given, or given and defaulted "t<n>") would
     * make two results nobody can tell apart. The second of the first pair is refused;
     * n <= JT_MAX_TEST_CASES keeps the pairwise walk small. */
    for (size_t i = 1; i < n; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcmp(job->test_cases[i].test_id, job->test_cases[j].test_id) == 0) {
                char path[64];
                snprintf(path, sizeof path, "test_cases[%zu].test_id", i);
                return jt_error_set(err, JT_ERR_INVALID, path,
                                    "test_id \"%s\" is already the id of test_cases[%zu]; test "
                                    "ids must be unique (absent ones default to \"t<position>\")",
                                    job->test_cases[i].test_id, j);
            }
        }
    }
    return JT_OK;
}

enum { CMP_ABS, CMP_REL, CMP_COUNT };
static const char *const cmp_fields[CMP_COUNT] = {"abs_tol", "rel_tol"};

static jt_status_t parse_comparison(const msgpack_object *v, jt_job_t *job, jt_error_t *err)
{
    static const range_t tol = {0, 0, false, false};
    if (v->type != MSGPACK_OBJECT_MAP)
        return wrong_type(err, "comparison", "an object {abs_tol, rel_tol}", v);
    uint32_t seen = 0;
    for (uint32_t i = 0; i < v->via.map.size; i++) {
        const msgpack_object_kv *kv = &v->via.map.ptr[i];
        int f = field_index(cmp_fields, CMP_COUNT, &kv->key);
        jt_status_t st = check_key(kv, "comparison", cmp_fields, CMP_COUNT, f, &seen, err);
        if (st == JT_OK && kv->val.type != MSGPACK_OBJECT_NIL)
            st = get_number(&kv->val, f == CMP_ABS ? "comparison.abs_tol" : "comparison.rel_tol",
                            tol, f == CMP_ABS ? &job->abs_tol : &job->rel_tol, err);
        if (st != JT_OK)
            return st;
    }
    return JT_OK;
}

enum {
    F_TASK_ID,
    F_CANDIDATE_CODE,
    F_FUNCTION_NAME,
    F_TEST_CASES,
    F_TIMEOUT,
    F_MEMORY,
    F_TRIALS,
    F_WARMUP,
    F_MIN_TRIAL,
    F_TARGET_CV,
    F_THERMAL,
    F_CANDIDATE_ID,
    F_PROBLEM_NAME,
    F_COMPARISON,
    F_STOP,
    F_REPETITION,
    F_CALLBACK_URL,
    F_COUNT
};
static const char *const job_fields[F_COUNT] = {
    "task_id",
    "candidate_code",
    "function_name",
    "test_cases",
    "timeout_seconds",
    "memory_limit_mb",
    "energy_measurement_trials",
    "warmup_trials",
    "min_trial_seconds",
    "target_cv_percent",
    "thermal_wait_seconds",
    "candidate_id",
    "problem_name",
    "comparison",
    "stop_on_first_failure",
    "repetition_mode",
    "callback_url",
};

/* callback_url: a string of at most JT_MAX_CALLBACK_URL_BYTES that parses as an http(s) URL. */
static jt_status_t parse_callback_url(const msgpack_object *v, jt_job_t *job, jt_error_t *err)
{
    jt_callback_url_t u;
    jt_status_t st =
        get_string(v, "callback_url", JT_MAX_CALLBACK_URL_BYTES, &job->callback_url, NULL, err);
    if (st == JT_OK)
        st = jt_callback_url_parse(job->callback_url, &u, err);
    return st;
}

static jt_status_t parse_field(int f, const msgpack_object *v, jt_job_t *job, msgpack_sbuffer *sb,
                               jt_error_t *err)
{
    const char *path = job_fields[f];
    jt_status_t st;
    switch (f) {
    case F_TASK_ID:
        st = get_string(v, path, JT_TASK_ID_MAX, &job->task_id, NULL, err);
        if (st == JT_OK && !jt_task_id_valid(job->task_id)) /* it names KV keys and subjects */
            st = jt_error_set(err, JT_ERR_INVALID, path, "must be 1..%d of A-Z a-z 0-9 _ -",
                              JT_TASK_ID_MAX);
        return st;
    case F_CANDIDATE_CODE:
        return get_string(v, path, JT_MAX_CODE_BYTES, &job->candidate_code,
                          &job->candidate_code_len, err);
    case F_FUNCTION_NAME:
        st = get_string(v, path, JT_MAX_NAME_BYTES, &job->function_name, NULL, err);
        if (st == JT_OK && !is_identifier(job->function_name))
            st = jt_error_set(err, JT_ERR_INVALID, path,
                              "must be a Python identifier (ASCII letters, digits and _, not "
                              "starting with a digit, not a keyword)");
        return st;
    case F_TEST_CASES:
        return parse_test_cases(v, job, sb, err);
    case F_TIMEOUT:
        return get_number(v, path,
                          (range_t){JT_MIN_TIMEOUT_SECONDS, JT_MAX_TIMEOUT_SECONDS, false, true},
                          &job->timeout_seconds, err);
    case F_MEMORY:
        return get_int(v, path, JT_MIN_MEMORY_LIMIT_MB, JT_MAX_MEMORY_LIMIT_MB,
                       &job->memory_limit_mb, err);
    case F_TRIALS:
        return get_int(v, path, JT_MIN_TRIALS, JT_MAX_TRIALS, &job->energy_measurement_trials, err);
    case F_WARMUP:
        return get_int(v, path, 0, JT_MAX_WARMUP_TRIALS, &job->warmup_trials, err);
    case F_MIN_TRIAL:
        /* 0 is allowed: one run per trial (the shortest possible trials) */
        return get_number(v, path, (range_t){0, JT_MAX_MIN_TRIAL_SECONDS, false, true},
                          &job->min_trial_seconds, err);
    case F_TARGET_CV:
        return get_number(v, path, (range_t){0, JT_MAX_TARGET_CV_PERCENT, true, true},
                          &job->target_cv_percent, err);
    case F_THERMAL:
        return get_number(v, path, (range_t){0, JT_MAX_THERMAL_WAIT_SECONDS, false, true},
                          &job->thermal_wait_seconds, err);
    case F_CANDIDATE_ID:
        return get_string(v, path, JT_MAX_NAME_BYTES, &job->candidate_id, NULL, err);
    case F_PROBLEM_NAME:
        return get_string(v, path, JT_MAX_NAME_BYTES, &job->problem_name, NULL, err);
    case F_COMPARISON:
        return parse_comparison(v, job, err);
    case F_STOP:
        return get_bool(v, path, &job->stop_on_first_failure, err);
    case F_REPETITION:
        if (v->type != MSGPACK_OBJECT_STR)
            return wrong_type(err, path, "\"fresh_process\" or \"same_process\"", v);
        if (v->via.str.size == 13 && memcmp(v->via.str.ptr, "fresh_process", 13) == 0)
            job->repetition_mode = JT_REPEAT_FRESH_PROCESS;
        else if (v->via.str.size == 12 && memcmp(v->via.str.ptr, "same_process", 12) == 0)
            job->repetition_mode = JT_REPEAT_SAME_PROCESS;
        else
            return jt_error_set(err, JT_ERR_INVALID, path,
                                "expected \"fresh_process\" or \"same_process\"");
        return JT_OK;
    case F_CALLBACK_URL:
        return parse_callback_url(v, job, err);
    }
    return jt_error_set(err, JT_ERR_INVALID, path, "unhandled field");
}

static jt_status_t parse_job(const msgpack_object *root, jt_job_t *job, msgpack_sbuffer *sb,
                             jt_error_t *err)
{
    if (root->type != MSGPACK_OBJECT_MAP)
        return jt_error_set(err, JT_ERR_INVALID, "", "the job must be an object, got %s",
                            jt_value_type_name(root->type));
    uint32_t seen = 0;
    for (uint32_t i = 0; i < root->via.map.size; i++) {
        const msgpack_object_kv *kv = &root->via.map.ptr[i];
        int f = field_index(job_fields, F_COUNT, &kv->key);
        jt_status_t st = check_key(kv, "", job_fields, F_COUNT, f, &seen, err);
        if (st != JT_OK)
            return st;
        /* null means "absent" for optional fields; required ones report the wrong type */
        if (kv->val.type == MSGPACK_OBJECT_NIL && f != F_CANDIDATE_CODE && f != F_TEST_CASES)
            continue;
        st = parse_field(f, &kv->val, job, sb, err);
        if (st != JT_OK)
            return st;
    }
    if ((seen & (1u << F_CANDIDATE_CODE)) == 0)
        return jt_error_set(err, JT_ERR_MISSING, "candidate_code", "candidate_code is required");
    if ((seen & (1u << F_TEST_CASES)) == 0)
        return jt_error_set(err, JT_ERR_MISSING, "test_cases", "test_cases is required");
    if (job->function_name == NULL) {
        job->function_name = strdup(JT_DEFAULT_FUNCTION_NAME);
        if (job->function_name == NULL)
            return jt_error_set(err, JT_ERR_NOMEM, "function_name", "out of memory");
    }
    return JT_OK;
}

jt_status_t jt_job_from_msgpack(jt_job_t *job, const uint8_t *data, size_t len, jt_error_t *err)
{
    jt_job_t tmp;
    jt_job_init(&tmp);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_zone *zone = NULL;
    jt_status_t st;

    if (len > JT_MAX_BODY_BYTES) {
        st =
            jt_error_set(err, JT_ERR_TOO_LARGE, "",
                         "job is %zu bytes; the limit is %u bytes (4 MiB)", len, JT_MAX_BODY_BYTES);
        goto out;
    }
    zone = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);
    if (zone == NULL) {
        st = jt_error_set(err, JT_ERR_NOMEM, "", "out of memory");
        goto out;
    }
    msgpack_object root;
    st = jt_unpack_value(data, len, zone, &root, err);
    if (st == JT_OK)
        st = parse_job(&root, &tmp, &sb, err);
out:
    msgpack_sbuffer_destroy(&sb);
    if (zone != NULL)
        msgpack_zone_free(zone);
    jt_job_cleanup(job);
    if (st == JT_OK)
        *job = tmp;
    else
        jt_job_cleanup(&tmp);
    return st;
}

/* ---- encoder -------------------------------------------------------------------- */

static int pack_cstr(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    return msgpack_pack_str(pk, n) | msgpack_pack_str_body(pk, s, n);
}

/* A blob is already one msgpack value: copy its bytes; an absent one is nil. */
static int pack_blob(msgpack_packer *pk, const jt_blob_t *b)
{
    if (b->data == NULL)
        return msgpack_pack_nil(pk);
    return pk->callback(pk->data, (const char *)b->data, b->len);
}

static int pack_test_case(msgpack_packer *pk, const jt_test_case_t *tc)
{
    int rc = msgpack_pack_map(pk, 2 + (tc->test_id != NULL) + (tc->metadata.data != NULL));
    if (tc->test_id != NULL)
        rc |= pack_cstr(pk, "test_id") | pack_cstr(pk, tc->test_id);
    rc |= pack_cstr(pk, "inputs") | pack_blob(pk, &tc->inputs);
    rc |= pack_cstr(pk, "expected_output") | pack_blob(pk, &tc->expected_output);
    if (tc->metadata.data != NULL)
        rc |= pack_cstr(pk, "metadata") | pack_blob(pk, &tc->metadata);
    return rc;
}

static int pack_opt_str(msgpack_packer *pk, const char *key, const char *value)
{
    return value == NULL ? 0 : pack_cstr(pk, key) | pack_cstr(pk, value);
}

jt_status_t jt_job_to_msgpack(const jt_job_t *job, uint8_t **out, size_t *out_len)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);

    size_t n = 11 + (job->task_id != NULL) + (job->candidate_code != NULL) +
               (job->function_name != NULL) + (job->candidate_id != NULL) +
               (job->problem_name != NULL) + (job->callback_url != NULL);
    int rc = msgpack_pack_map(&pk, n);
    rc |= pack_opt_str(&pk, "task_id", job->task_id);
    rc |= pack_opt_str(&pk, "candidate_code", job->candidate_code);
    rc |= pack_opt_str(&pk, "function_name", job->function_name);
    rc |= pack_cstr(&pk, "test_cases") | msgpack_pack_array(&pk, job->n_test_cases);
    for (size_t i = 0; i < job->n_test_cases; i++)
        rc |= pack_test_case(&pk, &job->test_cases[i]);
    rc |= pack_cstr(&pk, "timeout_seconds") | msgpack_pack_double(&pk, job->timeout_seconds);
    rc |= pack_cstr(&pk, "memory_limit_mb") | msgpack_pack_int(&pk, job->memory_limit_mb);
    rc |= pack_cstr(&pk, "energy_measurement_trials") |
          msgpack_pack_int(&pk, job->energy_measurement_trials);
    rc |= pack_cstr(&pk, "warmup_trials") | msgpack_pack_int(&pk, job->warmup_trials);
    rc |= pack_cstr(&pk, "min_trial_seconds") | msgpack_pack_double(&pk, job->min_trial_seconds);
    rc |= pack_cstr(&pk, "target_cv_percent") | msgpack_pack_double(&pk, job->target_cv_percent);
    rc |= pack_cstr(&pk, "thermal_wait_seconds") |
          msgpack_pack_double(&pk, job->thermal_wait_seconds);
    rc |= pack_opt_str(&pk, "candidate_id", job->candidate_id);
    rc |= pack_opt_str(&pk, "problem_name", job->problem_name);
    rc |= pack_opt_str(&pk, "callback_url", job->callback_url);
    rc |= pack_cstr(&pk, "comparison") | msgpack_pack_map(&pk, 2);
    rc |= pack_cstr(&pk, "abs_tol") | msgpack_pack_double(&pk, job->abs_tol);
    rc |= pack_cstr(&pk, "rel_tol") | msgpack_pack_double(&pk, job->rel_tol);
    rc |= pack_cstr(&pk, "stop_on_first_failure") |
          (job->stop_on_first_failure ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk));
    rc |= pack_cstr(&pk, "repetition_mode") |
          pack_cstr(&pk, jt_repetition_mode_name(job->repetition_mode));
    if (rc != 0) {
        msgpack_sbuffer_destroy(&sb);
        return JT_ERR_NOMEM;
    }
    *out_len = sb.size;
    *out = (uint8_t *)msgpack_sbuffer_release(&sb);
    return JT_OK;
}
