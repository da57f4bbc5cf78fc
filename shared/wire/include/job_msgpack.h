/* job_msgpack.h -- jt_job_t <-> msgpack map (the job on the NATS bus). */
#ifndef JT_JOB_MSGPACK_H
#define JT_JOB_MSGPACK_H

#include <stddef.h>
#include <stdint.h>

#include "job.h"
#include "status.h"

/* Encode *job as a msgpack map with the same snake_case field names as the
 * REST body (optional fields that are absent are omitted). On success *out and
 * *out_len hold a malloc'd buffer the caller frees. Returns JT_OK or JT_ERR_NOMEM. */
jt_status_t jt_job_to_msgpack(const jt_job_t *job, uint8_t **out, size_t *out_len);

/* Decode a msgpack job of len bytes into *job (initialised with jt_job_init).
 * Strict: same field names, types, ranges and bounds as jt_job_from_json;
 * unknown fields, truncated input and trailing bytes are errors. On failure
 * returns the code, fills *err (field path + message), leaves *job cleaned up. */
jt_status_t jt_job_from_msgpack(jt_job_t *job, const uint8_t *data, size_t len, jt_error_t *err);

#endif
