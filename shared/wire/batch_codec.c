/* batch_codec.c -- the batch schema walker (msgpack), its JSON and comparison entries, its encoder.
 *
 * Pure functions, callable from any thread. A JSON body becomes one msgpack value first
 * (json_body.h), so JSON and msgpack share this walker. The walker takes the batch's own
 * fields, and hands every other top-level member, plus candidate_code "", to the job parser
 * (job_msgpack.h) as the problem: its paths are the batch's paths.
 */
#include "batch_codec.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "callback_url.h"
#include "field_list.h"
#include "job_msgpack.h"
#include "json_body.h"
#include "task_id.h"
#include "unpack.h"
#include "value.h"

#define MIB (1024u * 1024u)
/* What a candidate adds to the problem in its job: the code's and id's headers and keys,
 * a task id, with room to spare. */
#define CANDIDATE_JOB_OVERHEAD (2u * JT_TASK_ID_MAX + 128u)

typedef enum { SHAPE_BATCH, SHAPE_COMPARE } shape_t;

/* The batch's own top-level fields; a shape accepts some of them. */
enum { F_BATCH_ID, F_CANDIDATES, F_REFERENCE, F_A, F_B, F_CALLBACK, F_BUDGET, F_PRECISION, F_N };
static const char *const own_fields[F_N] = {"batch_id",
                                            "candidates",
                                            "reference",
                                            "a",
                                            "b",
                                            "callback_url",
                                            "max_measurement_seconds",
                                            "target_precision_percent"};
static const unsigned shape_fields[2] = {
    [SHAPE_BATCH] = 1u << F_BATCH_ID | 1u << F_CANDIDATES | 1u << F_REFERENCE | 1u << F_CALLBACK |
                    1u << F_BUDGET | 1u << F_PRECISION,
    [SHAPE_COMPARE] = 1u << F_A | 1u << F_B | 1u << F_CALLBACK | 1u << F_BUDGET | 1u << F_PRECISION,
};

/* Job fields that name one candidate: a batch's problem must not hold them. */
static const char *const candidate_only[] = {"task_id", "candidate_code", "candidate_id"};

enum { C_ID, C_CODE, C_N };
static const char *const candidate_fields[C_N] = {"candidate_id", "candidate_code"};

/* ---- small readers -------------------------------------------------------------- */

static bool key_is(const msgpack_object *key, const char *name)
{
    return key->type == MSGPACK_OBJECT_STR && key->via.str.size == strlen(name) &&
           memcmp(key->via.str.ptr, name, key->via.str.size) == 0;
}

static int key_index(const msgpack_object *key, const char *const *names, int count)
{
    for (int i = 0; i < count; i++) {
        if (key_is(key, names[i]))
            return i;
    }
    return -1;
}

/* base + "." + the key (a key of a checked tree is a UTF-8 string), cut to fit. */
static void member_path(char *out, size_t cap, const char *base, const msgpack_object *key)
{
    snprintf(out, cap, "%s%s%.*s", base, base[0] != '\0' ? "." : "",
             (int)(key->via.str.size < cap ? key->via.str.size : cap), key->via.str.ptr);
}

static jt_status_t not_a(jt_error_t *err, const char *path, const char *what,
                         const msgpack_object *o)
{
    return jt_error_set(err, JT_ERR_INVALID, path, "expected %s, got %s", what,
                        jt_value_type_name(o->type));
}

/* A string of at most max bytes without NUL, copied into *out (and its length into *len). */
static jt_status_t take_text(const msgpack_object *o, const char *path, size_t max, char **out,
                             size_t *len, jt_error_t *err)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return not_a(err, path, "a string", o);
    const char *p = o->via.str.ptr;
    size_t n = o->via.str.size;
    if (n > max)
        return jt_error_set(err, JT_ERR_TOO_LARGE, path, "%zu bytes; the limit is %zu bytes", n,
                            max);
    if (n > 0 && memchr(p, '\0', n) != NULL)
        return jt_error_set(err, JT_ERR_INVALID, path, "must not contain a NUL character");
    if ((*out = malloc(n + 1)) == NULL)
        return jt_error_set(err, JT_ERR_NOMEM, path, "out of memory");
    memcpy(*out, p, n);
    (*out)[n] = '\0';
    if (len != NULL)
        *len = n;
    return JT_OK;
}

/* A number in (0, hi]. */
static jt_status_t take_positive(const msgpack_object *o, const char *path, double hi, double *out,
                                 jt_error_t *err)
{
    double d;
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        d = (double)o->via.u64;
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        d = (double)o->via.i64;
        break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        d = o->via.f64;
        break;
    default:
        return not_a(err, path, "a number", o);
    }
    if (!(d > 0 && d <= hi)) /* NaN fails too */
        return jt_error_set(err, JT_ERR_INVALID, path,
                            "expected a number greater than 0 and at most %g, got %.15g", hi, d);
    *out = d;
    return JT_OK;
}

static jt_status_t take_id(const msgpack_object *o, const char *path, char **out, jt_error_t *err)
{
    jt_status_t st = take_text(o, path, JT_TASK_ID_MAX, out, NULL, err);
    if (st == JT_OK && !jt_task_id_valid(*out)) {
        free(*out);
        *out = NULL;
        st = jt_error_set(err, JT_ERR_INVALID, path,
                          "candidate ids are 1..%d characters of A-Z a-z 0-9 _ -", JT_TASK_ID_MAX);
    }
    return st;
}

/* A callback URL by the one rule of tasks and batches (callback_url.h); the allowlist is
 * judged by whoever stores the batch. */
static jt_status_t take_callback_url(const msgpack_object *o, char **out, jt_error_t *err)
{
    jt_callback_url_t u;
    jt_status_t st = take_text(o, "callback_url", JT_MAX_CALLBACK_URL_BYTES, out, NULL, err);
    if (st == JT_OK && (st = jt_callback_url_parse(*out, &u, err)) != JT_OK) {
        free(*out);
        *out = NULL;
    }
    return st;
}

/* ---- candidates ----------------------------------------------------------------- */

/* One {candidate_id, candidate_code} at path base; default_id (may be NULL: required) when
 * the id is absent or null. */
static jt_status_t parse_candidate(const msgpack_object *v, const char *base,
                                   const char *default_id, jt_candidate_t *c, jt_error_t *err)
{
    char path[160];
    if (v->type != MSGPACK_OBJECT_MAP)
        return not_a(err, base, "an object {candidate_id, candidate_code}", v);
    const msgpack_object *val[C_N] = {NULL, NULL};
    for (uint32_t i = 0; i < v->via.map.size; i++) {
        const msgpack_object_kv *kv = &v->via.map.ptr[i];
        int f = key_index(&kv->key, candidate_fields, C_N);
        member_path(path, sizeof path, base, &kv->key);
        if (f < 0) {
            char known[128];
            jt_field_list(known, sizeof known, candidate_fields, C_N);
            return jt_error_set(err, JT_ERR_UNKNOWN_FIELD, path, "unknown field (known fields: %s)",
                                known);
        }
        if (val[f] != NULL)
            return jt_error_set(err, JT_ERR_INVALID, path, "field appears more than once");
        val[f] = &kv->val;
    }
    snprintf(path, sizeof path, "%s.candidate_code", base);
    if (val[C_CODE] == NULL)
        return jt_error_set(err, JT_ERR_MISSING, path, "every candidate needs candidate_code");
    jt_status_t st = take_text(val[C_CODE], path, JT_MAX_CODE_BYTES, &c->code, &c->code_len, err);
    if (st != JT_OK)
        return st;
    snprintf(path, sizeof path, "%s.candidate_id", base);
    if (val[C_ID] != NULL && val[C_ID]->type != MSGPACK_OBJECT_NIL)
        return take_id(val[C_ID], path, &c->candidate_id, err);
    if (default_id == NULL)
        return jt_error_set(err, JT_ERR_MISSING, path,
                            "every candidate needs a candidate_id (it names it in the ranking)");
    c->candidate_id = strdup(default_id);
    return c->candidate_id != NULL ? JT_OK : jt_error_set(err, JT_ERR_NOMEM, path, "out of memory");
}

/* The path of candidate i of the assembled batch b (reference last). */
static void candidate_path(char *out, size_t cap, const jt_batch_t *b, size_t i, shape_t shape)
{
    bool ref = b->candidates[i].is_reference;
    if (shape == SHAPE_COMPARE)
        snprintf(out, cap, "%s", ref ? "a" : "b");
    else if (ref)
        snprintf(out, cap, "reference");
    else
        snprintf(out, cap, "candidates[%zu]", i);
}

/* Candidate ids are unique: the later of two equal ones is at fault. */
static jt_status_t check_unique_ids(const jt_batch_t *b, shape_t shape, jt_error_t *err)
{
    for (size_t i = 1; i < b->n_candidates; i++) {
        for (size_t k = 0; k < i; k++) {
            if (strcmp(b->candidates[i].candidate_id, b->candidates[k].candidate_id) != 0)
                continue;
            char path[160], first[64];
            candidate_path(path, sizeof path - 16, b, i, shape);
            strcat(path, ".candidate_id");
            candidate_path(first, sizeof first, b, k, shape);
            return jt_error_set(err, JT_ERR_INVALID, path,
                                "candidate id \"%s\" is already the id of %s; ids must be unique",
                                b->candidates[i].candidate_id, first);
        }
    }
    return JT_OK;
}

/* The candidates array of a batch into b->candidates[0..n) (room for one more: the
 * reference). */
static jt_status_t parse_candidates(const msgpack_object *v, jt_batch_t *b, jt_error_t *err)
{
    if (v == NULL)
        return jt_error_set(err, JT_ERR_MISSING, "candidates", "candidates is required");
    if (v->type != MSGPACK_OBJECT_ARRAY)
        return not_a(err, "candidates", "a non-empty array of candidates", v);
    size_t n = v->via.array.size;
    if (n == 0)
        return jt_error_set(err, JT_ERR_INVALID, "candidates", "needs at least one candidate");
    if (n > JT_MAX_BATCH_CANDIDATES)
        return jt_error_set(err, JT_ERR_TOO_LARGE, "candidates",
                            "%zu candidates; the limit is %u, the reference included", n,
                            JT_MAX_BATCH_CANDIDATES);
    b->candidates = calloc(n + 1, sizeof *b->candidates);
    if (b->candidates == NULL)
        return jt_error_set(err, JT_ERR_NOMEM, "candidates", "out of memory");
    for (size_t i = 0; i < n; i++) {
        char base[32];
        snprintf(base, sizeof base, "candidates[%zu]", i);
        b->n_candidates = i + 1; /* cleanup frees what was parsed */
        jt_status_t st = parse_candidate(&v->via.array.ptr[i], base, NULL, &b->candidates[i], err);
        if (st != JT_OK)
            return st;
    }
    return JT_OK;
}

/* The reference (batch: optional, compare: a) as the last candidate. */
static jt_status_t parse_reference(const msgpack_object *v, const char *base,
                                   const char *default_id, jt_batch_t *b, jt_error_t *err)
{
    if (b->n_candidates + 1 > JT_MAX_BATCH_CANDIDATES)
        return jt_error_set(err, JT_ERR_TOO_LARGE, "candidates",
                            "%zu candidates and a reference; the limit is %u, the reference "
                            "included",
                            b->n_candidates, JT_MAX_BATCH_CANDIDATES);
    jt_candidate_t *c = &b->candidates[b->n_candidates++];
    c->is_reference = true;
    return parse_candidate(v, base, default_id, c, err);
}

/* ---- the problem ---------------------------------------------------------------- */

/* The problem members plus candidate_code "" through the job parser into b->problem. */
static jt_status_t parse_problem(const msgpack_object *root, const bool *is_problem,
                                 uint32_t n_problem, shape_t shape, jt_batch_t *b, jt_error_t *err)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    int rc = msgpack_pack_map(&pk, n_problem + 1);
    for (uint32_t i = 0; i < root->via.map.size; i++) {
        if (is_problem[i])
            rc |= msgpack_pack_object(&pk, root->via.map.ptr[i].key) |
                  msgpack_pack_object(&pk, root->via.map.ptr[i].val);
    }
    rc |= msgpack_pack_str_with_body(&pk, "candidate_code", 14) |
          msgpack_pack_str_with_body(&pk, "", 0);
    jt_status_t st = rc != 0
                         ? jt_error_set(err, JT_ERR_NOMEM, "", "out of memory")
                         : jt_job_from_msgpack(&b->problem, (const uint8_t *)sb.data, sb.size, err);
    msgpack_sbuffer_destroy(&sb);
    if (st == JT_ERR_UNKNOWN_FIELD && strpbrk(err->path, ".[") == NULL) {
        /* The job parser listed a job's fields: list the shape's own, then the job's. */
        const char *names[F_N];
        size_t n = 0;
        for (int f = 0; f < F_N; f++) {
            if (shape_fields[shape] & (1u << f))
                names[n++] = own_fields[f];
        }
        char known[300];
        jt_field_list(known, sizeof known, names, n);
        snprintf(err->message, sizeof err->message,
                 "unknown field (known fields: %s, and the fields of a job but task_id, "
                 "candidate_code and candidate_id)",
                 known);
    } else if (st == JT_ERR_TOO_LARGE && err->path[0] == '\0') {
        snprintf(err->message, sizeof err->message,
                 "the problem (every field but the candidates) is over %u bytes (4 MiB) once "
                 "encoded",
                 JT_MAX_BODY_BYTES);
    }
    return st;
}

/* Every candidate's job (the problem with its code) must stay a job a worker accepts. */
static jt_status_t check_jobs_fit(const jt_batch_t *b, shape_t shape, jt_error_t *err)
{
    uint8_t *wire = NULL;
    size_t problem_len = 0;
    if (jt_job_to_msgpack(&b->problem, &wire, &problem_len) != JT_OK)
        return jt_error_set(err, JT_ERR_NOMEM, "", "out of memory");
    free(wire);
    for (size_t i = 0; i < b->n_candidates; i++) {
        size_t job_len = problem_len + b->candidates[i].code_len + CANDIDATE_JOB_OVERHEAD;
        if (job_len <= JT_MAX_BODY_BYTES)
            continue;
        char path[160];
        candidate_path(path, sizeof path - 16, b, i, shape);
        strcat(path, ".candidate_code");
        return jt_error_set(err, JT_ERR_TOO_LARGE, path,
                            "with the problem (%zu bytes encoded) this candidate's job would be "
                            "about %zu bytes; the limit is %u bytes (4 MiB)",
                            problem_len, job_len, JT_MAX_BODY_BYTES);
    }
    return JT_OK;
}

/* ---- the walker ----------------------------------------------------------------- */

static jt_status_t refuse_candidate_field(const char *name, shape_t shape, jt_error_t *err)
{
    if (strcmp(name, "task_id") == 0)
        return jt_error_set(err, JT_ERR_UNKNOWN_FIELD, name,
                            "a batch has no task_id: each candidate is named by its candidate_id "
                            "(a direct publisher names the batch with batch_id)");
    return jt_error_set(err, JT_ERR_UNKNOWN_FIELD, name,
                        "%s belongs to each candidate (%s.%s), not to the problem", name,
                        shape == SHAPE_BATCH ? "candidates[i]" : "a and b", name);
}

static jt_status_t walk(const msgpack_object *root, shape_t shape, bool *is_problem, jt_batch_t *b,
                        jt_error_t *err)
{
    const msgpack_object *val[F_N] = {NULL};
    uint32_t n_problem = 0;
    if (root->type != MSGPACK_OBJECT_MAP)
        return jt_error_set(err, JT_ERR_INVALID, "", "the %s must be an object, got %s",
                            shape == SHAPE_BATCH ? "batch" : "comparison",
                            jt_value_type_name(root->type));
    for (uint32_t i = 0; i < root->via.map.size; i++) {
        const msgpack_object *key = &root->via.map.ptr[i].key;
        int f = key_index(key, own_fields, F_N);
        int refused = key_index(key, candidate_only, 3);
        is_problem[i] = false;
        if (f >= 0 && (shape_fields[shape] & (1u << f)) != 0) {
            if (val[f] != NULL)
                return jt_error_set(err, JT_ERR_INVALID, own_fields[f],
                                    "field appears more than once");
            val[f] = &root->via.map.ptr[i].val;
        } else if (refused >= 0) {
            return refuse_candidate_field(candidate_only[refused], shape, err);
        } else {
            is_problem[i] = true; /* the job parser knows the rest, or refuses it */
            n_problem++;
        }
    }
    jt_status_t st = parse_problem(root, is_problem, n_problem, shape, b, err);
    if (st != JT_OK)
        return st;
    for (int f = 0; f < F_N; f++) {
        if (val[f] != NULL && val[f]->type == MSGPACK_OBJECT_NIL && f != F_CANDIDATES && f != F_A &&
            f != F_B)
            val[f] = NULL; /* null: an absent optional field */
    }
    if (shape == SHAPE_BATCH) {
        st = parse_candidates(val[F_CANDIDATES], b, err);
        if (st == JT_OK && val[F_REFERENCE] != NULL)
            st = parse_reference(val[F_REFERENCE], "reference", NULL, b, err);
    } else {
        if ((b->candidates = calloc(2, sizeof *b->candidates)) == NULL)
            return jt_error_set(err, JT_ERR_NOMEM, "", "out of memory");
        for (int f = F_A; f <= F_B && st == JT_OK; f++) {
            if (val[f] == NULL)
                st = jt_error_set(err, JT_ERR_MISSING, own_fields[f], "%s is required: {%s}",
                                  own_fields[f], "candidate_id?, candidate_code");
        }
        if (st == JT_OK) {
            b->n_candidates = 1;
            st = parse_candidate(val[F_B], "b", "b", &b->candidates[0], err);
        }
        if (st == JT_OK)
            st = parse_reference(val[F_A], "a", "a", b, err);
    }
    if (st == JT_OK)
        st = check_unique_ids(b, shape, err);
    if (st == JT_OK && val[F_CALLBACK] != NULL)
        st = take_callback_url(val[F_CALLBACK], &b->callback_url, err);
    if (st == JT_OK && val[F_BUDGET] != NULL)
        st = take_positive(val[F_BUDGET], own_fields[F_BUDGET], JT_MAX_BATCH_MEASUREMENT_SECONDS,
                           &b->max_measurement_seconds, err);
    if (st == JT_OK && val[F_PRECISION] != NULL)
        st = take_positive(val[F_PRECISION], own_fields[F_PRECISION], 100.0,
                           &b->target_precision_percent, err);
    if (st == JT_OK && val[F_BATCH_ID] != NULL) {
        st = take_text(val[F_BATCH_ID], "batch_id", JT_TASK_ID_MAX, &b->batch_id, NULL, err);
        if (st == JT_OK && !jt_task_id_valid(b->batch_id))
            st = jt_error_set(err, JT_ERR_INVALID, "batch_id",
                              "batch ids are 1..%d characters of A-Z a-z 0-9 _ -", JT_TASK_ID_MAX);
    }
    if (st == JT_OK)
        st = check_jobs_fit(b, shape, err);
    return st;
}

/* The msgpack value data[0..len) through the shape's walker into *b (initialised). */
static jt_status_t walk_bytes(const uint8_t *data, size_t len, shape_t shape, jt_batch_t *b,
                              jt_error_t *err)
{
    msgpack_zone *zone = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);
    if (zone == NULL)
        return jt_error_set(err, JT_ERR_NOMEM, "", "out of memory");
    msgpack_object root;
    bool *is_problem = NULL;
    jt_status_t st = jt_unpack_value(data, len, zone, &root, err);
    if (st == JT_OK) {
        size_t n_members = root.type == MSGPACK_OBJECT_MAP ? root.via.map.size : 0;
        is_problem = calloc(n_members + 1, sizeof *is_problem);
        st = is_problem != NULL ? walk(&root, shape, is_problem, b, err)
                                : jt_error_set(err, JT_ERR_NOMEM, "", "out of memory");
    }
    free(is_problem);
    msgpack_zone_free(zone);
    return st;
}

/* Decode data[0..len) (at most max bytes) with the shape's walker into *b: all or nothing. */
static jt_status_t decode(jt_batch_t *b, const uint8_t *data, size_t len, size_t max, shape_t shape,
                          jt_error_t *err)
{
    jt_batch_t tmp;
    jt_batch_init(&tmp);
    jt_status_t st =
        len > max ? jt_error_set(err, JT_ERR_TOO_LARGE, "",
                                 "%zu bytes; the limit is %zu bytes (%zu MiB)", len, max, max / MIB)
                  : walk_bytes(data, len, shape, &tmp, err);
    jt_batch_cleanup(b);
    if (st == JT_OK)
        *b = tmp;
    else
        jt_batch_cleanup(&tmp);
    return st;
}

jt_status_t jt_batch_from_msgpack(jt_batch_t *b, const uint8_t *data, size_t len, jt_error_t *err)
{
    return decode(b, data, len, JT_MAX_BATCH_BODY_BYTES, SHAPE_BATCH, err);
}

/* A JSON body of at most max bytes through the shape's walker. */
static jt_status_t decode_json(jt_batch_t *b, const char *body, size_t len, size_t max,
                               shape_t shape, jt_error_t *err)
{
    jt_blob_t mp = {NULL, 0};
    jt_status_t st;
    if (len > max)
        st = jt_error_set(err, JT_ERR_TOO_LARGE, "",
                          "request body is %zu bytes; the limit is %zu bytes (%zu MiB)", len, max,
                          max / MIB);
    else if ((st = jt_json_body_to_msgpack(body, len, &mp, err)) == JT_OK)
        st = decode(b, mp.data, mp.len, max, shape, err);
    jt_blob_free(&mp);
    if (st != JT_OK)
        jt_batch_cleanup(b);
    return st;
}

jt_status_t jt_batch_from_json(jt_batch_t *b, const char *body, size_t len, jt_error_t *err)
{
    return decode_json(b, body, len, JT_MAX_BATCH_BODY_BYTES, SHAPE_BATCH, err);
}

jt_status_t jt_batch_compare_from_json(jt_batch_t *b, const char *body, size_t len, jt_error_t *err)
{
    return decode_json(b, body, len, JT_MAX_COMPARE_BODY_BYTES, SHAPE_COMPARE, err);
}

/* ---- encoder -------------------------------------------------------------------- */

static int pack_text(msgpack_packer *pk, const char *s, size_t n)
{
    return msgpack_pack_str_with_body(pk, s, n);
}

static int pack_candidate(msgpack_packer *pk, const jt_candidate_t *c)
{
    return msgpack_pack_map(pk, 2) | pack_text(pk, "candidate_id", 12) |
           pack_text(pk, c->candidate_id, strlen(c->candidate_id)) |
           pack_text(pk, "candidate_code", 14) | pack_text(pk, c->code, c->code_len);
}

jt_status_t jt_batch_to_msgpack(const jt_batch_t *b, uint8_t **out, size_t *out_len)
{
    uint8_t *job = NULL;
    size_t job_len = 0;
    msgpack_zone *zone = NULL;
    msgpack_object root;
    jt_error_t err;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    int rc = -1;

    /* The problem's members as the job encoder writes them, less the candidate's own. */
    if (jt_job_to_msgpack(&b->problem, &job, &job_len) != JT_OK ||
        (zone = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE)) == NULL ||
        jt_unpack_value(job, job_len, zone, &root, &err) != JT_OK)
        goto out;
    uint32_t n_problem = 0;
    for (uint32_t i = 0; i < root.via.map.size; i++)
        n_problem += key_index(&root.via.map.ptr[i].key, candidate_only, 3) < 0;
    int ref = jt_batch_reference(b);
    size_t n_plain = b->n_candidates - (ref >= 0);
    rc = msgpack_pack_map(&pk, n_problem + 3 + (ref >= 0) + (b->callback_url != NULL) +
                                   (b->batch_id != NULL));
    for (uint32_t i = 0; i < root.via.map.size; i++) {
        if (key_index(&root.via.map.ptr[i].key, candidate_only, 3) < 0)
            rc |= msgpack_pack_object(&pk, root.via.map.ptr[i].key) |
                  msgpack_pack_object(&pk, root.via.map.ptr[i].val);
    }
    rc |= pack_text(&pk, "candidates", 10) | msgpack_pack_array(&pk, n_plain);
    for (size_t i = 0; i < b->n_candidates; i++) {
        if (!b->candidates[i].is_reference)
            rc |= pack_candidate(&pk, &b->candidates[i]);
    }
    if (ref >= 0)
        rc |= pack_text(&pk, "reference", 9) | pack_candidate(&pk, &b->candidates[ref]);
    if (b->callback_url != NULL)
        rc |= pack_text(&pk, "callback_url", 12) |
              pack_text(&pk, b->callback_url, strlen(b->callback_url));
    rc |= pack_text(&pk, "max_measurement_seconds", 23) |
          msgpack_pack_double(&pk, b->max_measurement_seconds);
    rc |= pack_text(&pk, "target_precision_percent", 24) |
          msgpack_pack_double(&pk, b->target_precision_percent);
    if (b->batch_id != NULL)
        rc |= pack_text(&pk, "batch_id", 8) | pack_text(&pk, b->batch_id, strlen(b->batch_id));
out:
    if (zone != NULL)
        msgpack_zone_free(zone);
    free(job);
    if (rc != 0) {
        msgpack_sbuffer_destroy(&sb);
        return JT_ERR_NOMEM;
    }
    *out_len = sb.size;
    *out = (uint8_t *)msgpack_sbuffer_release(&sb);
    return JT_OK;
}
