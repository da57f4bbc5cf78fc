/* bench_post_rate.c -- accepted POSTs per second at a number of keep-alive connections.
 *
 * Runs on the bench's main thread.
 */
#include "bench_post_rate.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "bench_http.h"
#include "bench_percentile.h"
#include "bus_names.h"
#include "nats_server.h"

#define MAX_SAMPLES (4u * 1024 * 1024) /* latency samples kept per level */
#define FAKE_WORKER "bench-fake"

typedef struct {
    CURL *h;
    double t0;
} conn_t;

int jt_post_rate_level(int port, int conns, jt_post_level_t *out)
{
    struct curl_slist *hdrs = jt_bench_json_headers();
    CURLM *multi = curl_multi_init();
    conn_t *c = calloc((size_t)conns, sizeof *c);
    double *lat = malloc(MAX_SAMPLES * sizeof *lat);
    size_t n_lat = 0;
    int rc = -1, active = 0;
    memset(out, 0, sizeof *out);
    out->conns = conns;
    if (hdrs == NULL || multi == NULL || c == NULL || lat == NULL)
        goto out;
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)conns * 2);
    double start = jt_nats_now();
    double from = start + JT_POST_RATE_WARMUP_S, until = from + JT_POST_RATE_SECONDS;
    for (int i = 0; i < conns; i++) {
        if ((c[i].h = jt_bench_http_handle(port, JT_BENCH_MEASURE_PATH, true, hdrs, NULL)) == NULL)
            goto out;
        curl_easy_setopt(c[i].h, CURLOPT_PRIVATE, &c[i]);
        c[i].t0 = jt_nats_now();
        curl_multi_add_handle(multi, c[i].h);
        active++;
    }
    while (active > 0) {
        int running = 0, left = 0;
        curl_multi_perform(multi, &running);
        CURLMsg *m;
        while ((m = curl_multi_info_read(multi, &left)) != NULL) {
            if (m->msg != CURLMSG_DONE)
                continue;
            double now = jt_nats_now();
            conn_t *k = NULL;
            long status = -1, opened = 0;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&k);
            if (m->data.result == CURLE_OK)
                curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
            curl_easy_getinfo(m->easy_handle, CURLINFO_NUM_CONNECTS, &opened);
            out->new_connections += opened;
            if (now >= from && now <= until) {
                if (status == 202) {
                    out->accepted++;
                    if (n_lat < MAX_SAMPLES)
                        lat[n_lat++] = (now - k->t0) * 1000.0;
                } else {
                    out->other++;
                }
            }
            curl_multi_remove_handle(multi, k->h);
            active--;
            if (now < until) {
                k->t0 = now;
                curl_multi_add_handle(multi, k->h);
                active++;
            }
        }
        if (active > 0)
            curl_multi_poll(multi, NULL, 0, 50, NULL);
    }
    out->rate = (double)out->accepted / JT_POST_RATE_SECONDS;
    out->p50_ms = jt_bench_percentile(lat, n_lat, 0.50);
    out->p99_ms = jt_bench_percentile(lat, n_lat, 0.99);
    rc = 0;
out:
    for (int i = 0; c != NULL && i < conns; i++)
        if (c[i].h != NULL) {
            curl_multi_remove_handle(multi, c[i].h);
            curl_easy_cleanup(c[i].h);
        }
    curl_multi_cleanup(multi);
    curl_slist_free_all(hdrs);
    free(c);
    free(lat);
    return rc;
}

int jt_post_rate_fake_heartbeat(jt_bus_t *bus)
{
    json_t *hb =
        json_pack("{s:s, s:s, s:i, s:s, s:n, s:s, s:b, s:b, s:i, s:i}", "worker_id", FAKE_WORKER,
                  "host", "bench", "pid", 1, "state", "idle", "task_id", "meter_type", "estimate",
                  "energy_is_estimated", 1, "calibrated", 1, "measurement_core", 1, "socket", 0);
    char *text = json_dumps(hb, JSON_COMPACT);
    natsStatus s =
        text != NULL ? kvStore_PutString(NULL, bus->workers, FAKE_WORKER, text) : NATS_NO_MEMORY;
    free(text);
    json_decref(hb);
    return s == NATS_OK ? 0 : -1;
}

void jt_post_rate_forget_heartbeat(jt_bus_t *bus)
{
    kvStore_Delete(bus->workers, FAKE_WORKER);
}

int jt_post_rate_purge(jt_bus_t *bus)
{
    jsErrCode jerr = 0;
    if (js_PurgeStream(bus->js, JT_STREAM_JOBS, NULL, &jerr) != NATS_OK)
        return -1;
    return js_PurgeStream(bus->js, "KV_" JT_KV_TASKS, NULL, &jerr) == NATS_OK ? 0 : -1;
}
