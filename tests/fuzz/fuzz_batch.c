/* fuzz_batch.c -- libFuzzer target: the batch decoders (batch_codec.h) on arbitrary bytes.
 *
 * The first byte picks the entry: 0 jt_batch_from_msgpack, 1 jt_batch_from_json,
 * 2 jt_batch_compare_from_json; the rest is the input.
 */
#include <stddef.h>
#include <stdint.h>

#include "batch_codec.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What every accepted batch is: 1..max candidates with valid, unique ids and bounded,
 * NUL-terminated code, the reference (if any) last, a problem without a candidate. */
static void check_batch(const jt_batch_t *b, bool compare)
{
    if (b->n_candidates == 0 || b->n_candidates > JT_MAX_BATCH_CANDIDATES ||
        (compare && (b->n_candidates != 2 || jt_batch_reference(b) != 1)))
        abort();
    for (size_t i = 0; i < b->n_candidates; i++) {
        const jt_candidate_t *c = &b->candidates[i];
        if (!jt_task_id_valid(c->candidate_id) || c->code == NULL ||
            c->code_len > JT_MAX_CODE_BYTES || c->code[c->code_len] != '\0' ||
            strlen(c->code) != c->code_len || (c->is_reference && i + 1 != b->n_candidates))
            abort();
        for (size_t k = 0; k < i; k++)
            if (strcmp(c->candidate_id, b->candidates[k].candidate_id) == 0)
                abort();
    }
    if (b->problem.candidate_code == NULL || b->problem.candidate_code[0] != '\0' ||
        b->problem.task_id != NULL || b->problem.candidate_id != NULL ||
        !(b->max_measurement_seconds > 0 &&
          b->max_measurement_seconds <= JT_MAX_BATCH_MEASUREMENT_SECONDS) ||
        !(b->target_precision_percent > 0 && b->target_precision_percent <= 100.0) ||
        (b->batch_id != NULL && !jt_task_id_valid(b->batch_id)))
        abort();
    fuzz_check_job(&b->problem);
}

/* The encoder writes what the msgpack decoder reads back to the same bytes. */
static void check_roundtrip(const jt_batch_t *b)
{
    uint8_t *w1 = NULL, *w2 = NULL;
    size_t l1 = 0, l2 = 0;
    jt_batch_t again;
    jt_error_t err;
    jt_batch_init(&again);
    if (jt_batch_to_msgpack(b, &w1, &l1) != JT_OK ||
        jt_batch_from_msgpack(&again, w1, l1, &err) != JT_OK ||
        jt_batch_to_msgpack(&again, &w2, &l2) != JT_OK || l1 != l2 || memcmp(w1, w2, l1) != 0 ||
        again.n_candidates != b->n_candidates)
        abort();
    jt_batch_cleanup(&again);
    free(w1);
    free(w2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    jt_batch_t b, fresh;
    jt_error_t err;
    jt_batch_init(&b);
    jt_batch_init(&fresh);
    memset(&err, 0, sizeof err);
    const uint8_t *in = data + 1;
    size_t n = size - 1;
    jt_status_t st;
    switch (data[0] % 3) {
    case 0:
        st = jt_batch_from_msgpack(&b, in, n, &err);
        break;
    case 1:
        st = jt_batch_from_json(&b, (const char *)in, n, &err);
        break;
    default:
        st = jt_batch_compare_from_json(&b, (const char *)in, n, &err);
        break;
    }
    if (st == JT_OK) {
        check_batch(&b, data[0] % 3 == 2);
        check_roundtrip(&b);
    } else {
        fuzz_check_error(st, &err);
        if (memcmp(&b, &fresh, sizeof fresh) != 0)
            abort();
    }
    jt_batch_cleanup(&b);
    return 0;
}
