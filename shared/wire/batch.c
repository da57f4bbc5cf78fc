/* batch.c -- lifecycle of jt_batch_t and the job of one of its candidates.
 *
 * Pure functions, callable from any thread.
 */
#include "batch.h"

#include <stdlib.h>
#include <string.h>

#include "job_msgpack.h"

void jt_batch_init(jt_batch_t *b)
{
    memset(b, 0, sizeof *b);
    jt_job_init(&b->problem);
    b->max_measurement_seconds = JT_DEFAULT_BATCH_MEASUREMENT_SECONDS;
    b->target_precision_percent = JT_DEFAULT_TARGET_PRECISION_PERCENT;
}

void jt_batch_cleanup(jt_batch_t *b)
{
    for (size_t i = 0; i < b->n_candidates; i++) {
        free(b->candidates[i].candidate_id);
        free(b->candidates[i].code);
    }
    free(b->candidates);
    free(b->batch_id);
    free(b->callback_url);
    jt_job_cleanup(&b->problem);
    jt_batch_init(b);
}

int jt_batch_reference(const jt_batch_t *b)
{
    for (size_t i = 0; i < b->n_candidates; i++) {
        if (b->candidates[i].is_reference)
            return (int)i;
    }
    return -1;
}

/* A copy of s[0..n) with its NUL, or NULL when out of memory. */
static char *copy_text(const char *s, size_t n)
{
    char *c = malloc(n + 1);
    if (c != NULL) {
        memcpy(c, s, n);
        c[n] = '\0';
    }
    return c;
}

jt_status_t jt_batch_candidate_job(const jt_batch_t *b, size_t i, const char *task_id,
                                   jt_job_t *job, jt_error_t *err)
{
    if (i >= b->n_candidates)
        return jt_error_set(err, JT_ERR_INVALID, "index", "the batch has no candidate %zu", i);
    const jt_candidate_t *c = &b->candidates[i];
    /* The copy goes through the job's own encoder and decoder, so that every field of the
     * problem comes along, including fields the job schema gains later. */
    uint8_t *wire = NULL;
    size_t wire_len = 0;
    if (jt_job_to_msgpack(&b->problem, &wire, &wire_len) != JT_OK)
        return jt_error_set(err, JT_ERR_NOMEM, "", "out of memory");
    jt_job_t tmp;
    jt_job_init(&tmp);
    jt_status_t st = jt_job_from_msgpack(&tmp, wire, wire_len, err);
    free(wire);
    if (st != JT_OK)
        return st;
    char *code = copy_text(c->code != NULL ? c->code : "", c->code != NULL ? c->code_len : 0);
    char *cid = c->candidate_id != NULL ? strdup(c->candidate_id) : NULL;
    char *tid = task_id != NULL ? strdup(task_id) : NULL;
    if (code == NULL || (c->candidate_id != NULL && cid == NULL) ||
        (task_id != NULL && tid == NULL)) {
        free(code);
        free(cid);
        free(tid);
        jt_job_cleanup(&tmp);
        return jt_error_set(err, JT_ERR_NOMEM, "", "out of memory");
    }
    free(tmp.candidate_code);
    tmp.candidate_code = code;
    tmp.candidate_code_len = c->code != NULL ? c->code_len : 0;
    free(tmp.candidate_id);
    tmp.candidate_id = cid;
    free(tmp.task_id);
    tmp.task_id = tid;
    jt_job_cleanup(job);
    *job = tmp;
    return JT_OK;
}
