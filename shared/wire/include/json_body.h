/* json_body.h -- a JSON request body as one msgpack value: depth guard, exact big integers,
 * jansson.
 *
 * Shared by the REST parsers (job_json.c, batch_codec.c): each converts the body here and then
 * applies its schema to the msgpack value, so that JSON and msgpack share one schema walker.
 * Pure function, callable from any thread.
 */
#ifndef JT_JSON_BODY_H
#define JT_JSON_BODY_H

#include <stddef.h>

#include "job.h"
#include "status.h"

/* Parse the JSON text body[0..len) (need not be NUL-terminated) into one msgpack value in
 * *out (malloc'd; free it with jt_blob_free). The top-level value must be an object. A
 * container nested deeper than JT_MAX_DEPTH is reported as JT_ERR_TOO_DEEP at its path
 * without jansson ever recursing into it; integers beyond 64 bits stay exact (value.h);
 * duplicate keys and bad syntax are JT_ERR_INVALID at path "" ("invalid JSON at line L,
 * column C: ..."); the value errors of jt_value_from_json keep their paths. No size limit is
 * applied: the caller bounds len. On failure *out is untouched and *err filled. */
jt_status_t jt_json_body_to_msgpack(const char *body, size_t len, jt_blob_t *out, jt_error_t *err);

#endif
