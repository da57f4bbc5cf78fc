/* job_json.h -- REST body (JSON) -> jt_job_t, strict, with field-path errors. */
#ifndef JT_JOB_JSON_H
#define JT_JOB_JSON_H

#include <stddef.h>

#include "job.h"
#include "status.h"

/* Parse a REST request body of len bytes (need not be NUL-terminated) into
 * *job, which must be initialised with jt_job_init. Enforces every bound of
 * job.h (body size, code size, test count, depth, string length), field types
 * and ranges; unknown fields are errors (JT_ERR_UNKNOWN_FIELD). On failure
 * returns the code, fills *err with the field path (e.g. "test_cases[2].inputs")
 * and a message, and leaves *job cleaned up (as after jt_job_init). */
jt_status_t jt_job_from_json(jt_job_t *job, const char *body, size_t len, jt_error_t *err);

#endif
