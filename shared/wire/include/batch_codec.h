/* batch_codec.h -- batches from the REST body (JSON) and from direct publishers (msgpack), and
 * back.
 *
 * The fields are those of batch.h; the problem fields are checked by the job parser itself
 * (job_msgpack.h), so a batch's problem accepts exactly what a job accepts, with the same
 * paths and messages. Strict like the job parsers: unknown fields are JT_ERR_UNKNOWN_FIELD,
 * every error names its field path ("candidates[3].candidate_id", "test_cases[0].inputs",
 * "" for the body as a whole). Refused besides the job's own rules:
 *   - no candidates, or more than JT_MAX_BATCH_CANDIDATES with the reference;
 *   - a candidate without candidate_code or candidate_id, code over JT_MAX_CODE_BYTES, an id
 *     outside the task-id rule (task_id.h), an id used twice (the path of the later one; the
 *     reference counts as the last candidate);
 *   - task_id, candidate_code or candidate_id among the problem fields (they belong to the
 *     candidates);
 *   - callback_url over JT_MAX_CALLBACK_URL_BYTES or refused by jt_callback_url_parse
 *     (callback_url.h: the rule of a task's callback_url; the allowlist is checked by whoever
 *     stores the batch);
 *   - max_measurement_seconds outside (0, JT_MAX_BATCH_MEASUREMENT_SECONDS],
 *     target_precision_percent outside (0, 100];
 *   - a problem over JT_MAX_BODY_BYTES once encoded, or one with which a candidate's job would
 *     exceed it.
 * null stands for an absent optional field. Pure functions, callable from any thread.
 */
#ifndef JT_BATCH_CODEC_H
#define JT_BATCH_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "status.h"

/* A comparison body: the problem, a and b, each at most JT_MAX_CODE_BYTES of code. */
#define JT_MAX_COMPARE_BODY_BYTES (JT_MAX_BODY_BYTES + 2 * JT_MAX_CODE_BYTES)

/* Parse the REST body of POST /api/v1/batches (len bytes, need not be NUL-terminated,
 * at most JT_MAX_BATCH_BODY_BYTES) into *b, which must be initialised (jt_batch_init).
 * Bad JSON and a body that is not an object are JT_ERR_INVALID at path "", a body over the
 * bound JT_ERR_TOO_LARGE at "". On failure returns the code, fills *err and leaves *b as
 * jt_batch_init made it. */
jt_status_t jt_batch_from_json(jt_batch_t *b, const char *body, size_t len, jt_error_t *err);

/* The same for a msgpack map published on JT_SUBJECT_BATCHES (len at most
 * JT_MAX_BATCH_BODY_BYTES); truncated input and trailing bytes are errors. */
jt_status_t jt_batch_from_msgpack(jt_batch_t *b, const uint8_t *data, size_t len, jt_error_t *err);

/* Parse the REST body of POST /api/v1/compare (at most JT_MAX_COMPARE_BODY_BYTES): the
 * problem fields, `a` and `b` ({candidate_id (default "a" / "b"), candidate_code}),
 * callback_url, max_measurement_seconds, target_precision_percent. *b becomes a batch of
 * two: b's candidate first, then a's as the reference (the ratio is B/A). Errors as
 * jt_batch_from_json, with paths "a.candidate_code", "b.candidate_id", ... */
jt_status_t jt_batch_compare_from_json(jt_batch_t *b, const char *body, size_t len,
                                       jt_error_t *err);

/* Encode *b as the msgpack map jt_batch_from_msgpack reads (every problem field with its
 * value, candidates, reference, optional fields when present). On success *out and *out_len
 * hold a malloc'd buffer the caller frees. Returns JT_OK or JT_ERR_NOMEM. */
jt_status_t jt_batch_to_msgpack(const jt_batch_t *b, uint8_t **out, size_t *out_len);

#endif
