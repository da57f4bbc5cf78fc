/* gateway_http.h -- the gateway tests' requests and what an answer must look like. */
#ifndef JT_TESTS_GATEWAY_HTTP_H
#define JT_TESTS_GATEWAY_HTTP_H

#include <jansson.h>

#include "curl_client.h"
#include "gateway_fixture.h"

#define GOOD_JOB                                                                                   \
    "{\"candidate_code\":\"def solve(x):\\n  return x * x\\n\",\"function_name\":\"solve\","       \
    "\"test_cases\":[{\"test_id\":\"t1\",\"inputs\":[2],\"expected_output\":4}],"                  \
    "\"energy_measurement_trials\":3,\"timeout_seconds\":20}"
#define MEASURE "/api/v1/measure-socket0"
#define VIEW_REFRESH_MS 250 /* gateway/view.h JT_VIEW_REFRESH_MS */

/* One request to the gateway, answered within 20 s; blen < 0 means
 * strlen(body). Returns 0 when an answer came (see jt_curl_request). */
int http(fx_t *fx, const char *method, const char *path, const char *body, long blen,
         const char *const *hdrs, jt_curl_resp_t *r);

/* Send the bytes req[0..len) as they are (no client cleans the path or drops a NUL) to the
 * gateway on a new connection and read the answer until the gateway closes it (send
 * "Connection: close"), at most cap - 1 bytes into out, NUL-terminated. Returns the answer's
 * HTTP status, or -1 when none came within 10 s. */
long raw_http(const fx_t *fx, const char *req, size_t len, char *out, size_t cap);

/* The string member key of o, NULL when absent. */
const char *jstr(const json_t *o, const char *key);

/* The reply is the error envelope with this code (and field, when not NULL),
 * and its request_id is the X-Request-Id header. */
void check_envelope(const jt_curl_resp_t *r, const char *error, const char *field);

/* The reply is 422 "idempotency_key_reused" at field Idempotency-Key naming existing_id
 * (details.existing_id), without Idempotent-Replayed. */
void check_key_reused(const jt_curl_resp_t *r, const char *existing_id);

/* POST GOOD_JOB until the view has seen the heartbeat: 202 (or fail after 5 s). */
void post_accepted(fx_t *fx, const char *const *hdrs, jt_curl_resp_t *r);

#endif
