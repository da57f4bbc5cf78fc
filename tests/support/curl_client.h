/* curl_client.h -- HTTP requests with libcurl to a server of the test on 127.0.0.1.
 *
 * Usage:
 *     jt_curl_resp_t r;
 *     if (jt_curl_request(port, "GET", "/api/v1/health", NULL, 0, NULL, 10, &r) == 0)
 *         ... r.status, r.body (NUL-terminated), r.headers, r.json ...
 *     jt_curl_resp_free(&r);
 *
 * Requests go to http://127.0.0.1:<port> only. An answer's body is kept up to
 * JT_CURL_RESP_MAX bytes (a longer one fails the transfer), its headers up to sizeof headers - 1
 * (the rest is dropped). Call these from one thread.
 * With JT_RESPONSE_LOG=<file> in the environment every answer is also appended to that file as
 * one JSON line {method, path, status, content_type, body} (tests/openapi checks them against
 * docs/openapi.json).
 */
#ifndef JT_TESTS_CURL_CLIENT_H
#define JT_TESTS_CURL_CLIENT_H

#include <jansson.h>
#include <stddef.h>

#define JT_CURL_RESP_MAX (8u << 20) /* bytes of one answer's body kept */
#define JT_CURL_POST_ALL_MAX 64     /* requests jt_curl_post_all sends at once */

typedef struct {
    long status; /* HTTP status, 0 when no answer came */
    char *body;  /* NUL-terminated, or NULL when empty */
    size_t len;
    char headers[8192];
    size_t hlen;
    json_t *json; /* body parsed, or NULL */
} jt_curl_resp_t;

/* Free what r holds and empty it; safe on an emptied r. */
void jt_curl_resp_free(jt_curl_resp_t *r);

/* One request to http://127.0.0.1:<port><path>: body may be NULL (sent as
 * application/json otherwise), blen < 0 means strlen(body); hdrs is
 * NULL-terminated (may be NULL); the whole transfer within timeout_s. The
 * answer into *r (emptied first; free it with jt_curl_resp_free even on
 * failure). Returns 0 when an answer came, -1 otherwise. */
int jt_curl_request(int port, const char *method, const char *path, const char *body, long blen,
                    const char *const *hdrs, long timeout_s, jt_curl_resp_t *r);

/* POST bodies[0..n) (application/json, and the header hdr when not NULL) to
 * http://127.0.0.1:<port><path> all at once, on n connections (curl multi),
 * each within timeout_s. The answers into r[0..n) (status 0 where none came;
 * free each with jt_curl_resp_free). Returns 0, or -1 when n is out of
 * 1..JT_CURL_POST_ALL_MAX or curl could not be set up (r[] then empty). */
int jt_curl_post_all(int port, const char *path, int n, const char *const *bodies, const char *hdr,
                     long timeout_s, jt_curl_resp_t *r);

#endif
