/* bench_http.c -- the pipeline bench's HTTP client: the trivial job, its POSTs, the health wait.
 *
 * Runs on the bench's main thread.
 */
#include "bench_http.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "nats_server.h"

static const char JOB_BODY[] =
    "{\"candidate_code\":\"def solve(x):\\n    return x\\n\",\"function_name\":\"solve\","
    "\"test_cases\":[{\"test_id\":\"t1\",\"inputs\":[1],\"expected_output\":1}],"
    "\"energy_measurement_trials\":1,\"warmup_trials\":0,\"min_trial_seconds\":0,"
    "\"timeout_seconds\":20}";

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    jt_bench_body_t *b = arg;
    size_t k = size * n;
    if (b == NULL)
        return k; /* discarded */
    size_t room = sizeof b->data - 1 - b->len;
    size_t take = k < room ? k : room;
    memcpy(b->data + b->len, p, take);
    b->len += take;
    b->data[b->len] = '\0';
    return k;
}

struct curl_slist *jt_bench_json_headers(void)
{
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    return curl_slist_append(hdrs, "Expect:");
}

CURL *jt_bench_http_handle(int port, const char *path, bool post, struct curl_slist *hdrs,
                           jt_bench_body_t *out)
{
    char url[256];
    CURL *c = curl_easy_init();
    if (c == NULL)
        return NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    if (post) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, JOB_BODY);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(JOB_BODY));
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    }
    return c;
}

long jt_bench_http_perform(CURL *c, jt_bench_body_t *out)
{
    long status = -1;
    if (out != NULL)
        out->len = 0;
    if (curl_easy_perform(c) != CURLE_OK)
        return -1;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

int jt_bench_wait_health(int port, const jt_proc_t *gw, int calibrated)
{
    jt_bench_body_t *b = calloc(1, sizeof *b);
    CURL *c = jt_bench_http_handle(port, "/api/v1/health", false, NULL, b);
    int rc = -1;
    double deadline = jt_nats_now() + 20.0;
    while (c != NULL && b != NULL && jt_nats_now() < deadline && jt_proc_alive(gw->pid)) {
        if (jt_bench_http_perform(c, b) > 0) {
            json_t *j = json_loadb(b->data, b->len, 0, NULL);
            json_t *checks = json_object_get(j, "checks");
            bool up = json_is_true(json_object_get(json_object_get(checks, "nats"), "connected"));
            json_int_t n = json_integer_value(
                json_object_get(json_object_get(checks, "workers"), "measuring"));
            json_decref(j);
            if (up && n >= calibrated) {
                rc = 0;
                break;
            }
        }
        jt_nats_sleep_ms(50);
    }
    curl_easy_cleanup(c);
    free(b);
    return rc;
}

int jt_bench_poster_init(jt_bench_poster_t *p, int port)
{
    p->hdrs = jt_bench_json_headers();
    p->body = calloc(1, sizeof *p->body);
    p->c = jt_bench_http_handle(port, JT_BENCH_MEASURE_PATH, true, p->hdrs, p->body);
    if (p->hdrs == NULL || p->body == NULL || p->c == NULL) {
        jt_bench_poster_cleanup(p);
        return -1;
    }
    return 0;
}

void jt_bench_poster_cleanup(jt_bench_poster_t *p)
{
    curl_easy_cleanup(p->c);
    curl_slist_free_all(p->hdrs);
    free(p->body);
    memset(p, 0, sizeof *p);
}
