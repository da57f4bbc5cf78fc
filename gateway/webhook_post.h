/* webhook_post.h -- one webhook request: a bounded, signed JSON POST with libcurl, no redirects.
 *
 * The request goes to a canonical URL (callback_url.h) over http or https only, never through a
 * proxy from the environment, never following a redirect, with a connect timeout of
 * JT_WEBHOOK_CONNECT_TIMEOUT_MS and a total one of JT_WEBHOOK_TOTAL_TIMEOUT_MS. The response
 * body is read and discarded up to JT_WEBHOOK_RESPONSE_MAX bytes, then the transfer stops. A
 * receiver that hangs costs at most the total timeout; one that closes mid-response is an
 * error unless its status line (2xx) came first.
 *
 * Call curl_global_init(CURL_GLOBAL_DEFAULT) once before any thread uses this module.
 * jt_webhook_post may run on several threads at once (one curl handle per call).
 */
#ifndef JT_GW_WEBHOOK_POST_H
#define JT_GW_WEBHOOK_POST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define JT_WEBHOOK_CONNECT_TIMEOUT_MS 5000
#define JT_WEBHOOK_TOTAL_TIMEOUT_MS 10000
#define JT_WEBHOOK_RESPONSE_MAX 65536 /* response body bytes read (and discarded) at most */
#define JT_WEBHOOK_MAX_HEADERS 8

typedef struct {
    long status;     /* the HTTP status received, 0 when none */
    bool aborted;    /* *stop became true during the request */
    char error[256]; /* what went wrong when status is 0 (curl's words), else "" */
} jt_webhook_response_t;

/* POST body (len bytes, application/json) to url with the extra header lines headers
 * (NULL-terminated "Name: value" strings, at most JT_WEBHOOK_MAX_HEADERS). Blocks until the
 * response, an error, a timeout, or *stop (may be NULL) turning true (libcurl's progress
 * callback checks it at least once a second). Fills *r; returns true when a status in 200..299 was
 * received. */
bool jt_webhook_post(const char *url, const char *const *headers, const char *body, size_t len,
                     const atomic_bool *stop, jt_webhook_response_t *r);

#endif
