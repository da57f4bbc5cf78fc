/* job_json.c -- REST body (JSON) -> jt_job_t: size guard, JSON body as msgpack, msgpack schema.
 *
 * Pure functions, callable from any thread. The body is converted as a whole to msgpack
 * (json_body.h) and handed to jt_job_from_msgpack, so both wire formats share one schema
 * walker: same fields, types, ranges, paths and messages.
 */
#include "job_json.h"

#include <stdlib.h>

#include "job_msgpack.h"
#include "json_body.h"

jt_status_t jt_job_from_json(jt_job_t *job, const char *body, size_t len, jt_error_t *err)
{
    jt_blob_t mp = {NULL, 0};
    uint8_t *wire = NULL;
    size_t wire_len = 0;
    jt_status_t st;

    if (len > JT_MAX_BODY_BYTES) {
        st = jt_error_set(err, JT_ERR_TOO_LARGE, "",
                          "request body is %zu bytes; the limit is %u bytes (4 MiB)", len,
                          JT_MAX_BODY_BYTES);
        goto out;
    }
    st = jt_json_body_to_msgpack(body, len, &mp, err);
    if (st != JT_OK)
        goto out;
    if (mp.len > JT_MAX_BODY_BYTES) {
        st = jt_error_set(err, JT_ERR_TOO_LARGE, "",
                          "the job is %zu bytes once encoded for the queue; the limit is %u "
                          "bytes (4 MiB)",
                          mp.len, JT_MAX_BODY_BYTES);
        goto out;
    }
    st = jt_job_from_msgpack(job, mp.data, mp.len, err);
    if (st != JT_OK)
        goto out;

    /* The job published on the bus also carries the defaults: a worker must accept it. */
    st = jt_job_to_msgpack(job, &wire, &wire_len);
    if (st != JT_OK)
        st = jt_error_set(err, st, "", "out of memory");
    else if (wire_len > JT_MAX_BODY_BYTES)
        st = jt_error_set(err, JT_ERR_TOO_LARGE, "",
                          "the job is %zu bytes once encoded for the queue; the limit is %u "
                          "bytes (4 MiB)",
                          wire_len, JT_MAX_BODY_BYTES);

out:
    free(wire);
    jt_blob_free(&mp);
    if (st != JT_OK)
        jt_job_cleanup(job);
    return st;
}
