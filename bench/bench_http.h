/* bench_http.h -- the pipeline bench's HTTP client: the trivial job, its POSTs, the health wait.
 *
 * Requests go to http://127.0.0.1:<port> with libcurl easy handles; every
 * POST sends the same trivial job (warmup_trials 0, energy_measurement_trials
 * 1, min_trial_seconds 0). Call these from the bench's main thread;
 * curl_global_init must have run.
 */
#ifndef JT_BENCH_HTTP_H
#define JT_BENCH_HTTP_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

#include "process_harness.h"

#define JT_BENCH_MEASURE_PATH "/api/v1/measure-socket0"
#define JT_BENCH_BODY_MAX 65536 /* bytes of an answer kept, the rest dropped */

typedef struct {
    char data[JT_BENCH_BODY_MAX]; /* NUL-terminated */
    size_t len;
} jt_bench_body_t;

/* One keep-alive connection posting the trivial job, its answers into body. */
typedef struct {
    struct curl_slist *hdrs;
    jt_bench_body_t *body;
    CURL *c;
} jt_bench_poster_t;

/* The headers of a POST ("Content-Type: application/json", no "Expect:").
 * The caller frees them with curl_slist_free_all; NULL when out of memory. */
struct curl_slist *jt_bench_json_headers(void);

/* An easy handle set up for a POST of the trivial job to path (keep-alive,
 * with hdrs, which must outlive it) or a GET (post false), writing the answer
 * into out (NULL: discard). The caller frees it with curl_easy_cleanup; NULL
 * on failure. */
CURL *jt_bench_http_handle(int port, const char *path, bool post, struct curl_slist *hdrs,
                           jt_bench_body_t *out);

/* One request on c, its answer into out (emptied first; NULL: discard).
 * Returns the HTTP status, or -1 when no answer came. */
long jt_bench_http_perform(CURL *c, jt_bench_body_t *out);

/* Wait up to 20 s, while gw lives, until GET /api/v1/health says the gateway
 * on port reached NATS and counts at least `calibrated` workers able to
 * measure (its view refreshes every 250 ms). Returns 0, or -1 on timeout,
 * when the gateway died or when out of memory. */
int jt_bench_wait_health(int port, const jt_proc_t *gw, int calibrated);

/* Set p up to POST to JT_BENCH_MEASURE_PATH on port. Returns 0, or -1 when
 * out of memory, with p left empty. Free with jt_bench_poster_cleanup. */
int jt_bench_poster_init(jt_bench_poster_t *p, int port);

/* Free what jt_bench_poster_init set up; p is left empty (cleaning an empty
 * poster does nothing). */
void jt_bench_poster_cleanup(jt_bench_poster_t *p);

#endif
