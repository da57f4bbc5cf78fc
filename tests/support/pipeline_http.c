/* pipeline_http.c -- the pipeline tests' requests to the gateway: readiness, jobs, task records. */
#include "pipeline_http.h"

#include <stdio.h>
#include <string.h>

#include "curl_client.h"
#include "json_path.h"
#include "pipeline_record.h"

/* The health answer (new reference) or NULL. */
static json_t *pl_health(const pl_t *pl)
{
    jt_curl_resp_t r;
    json_t *j = NULL;
    if (jt_curl_request(pl->port, "GET", "/api/v1/health", NULL, 0, NULL, 10, &r) == 0 &&
        r.json != NULL)
        j = json_incref(r.json);
    jt_curl_resp_free(&r);
    return j;
}

void pl_wait_ready(pl_t *pl, int workers, double seconds)
{
    double until = jt_nats_now() + seconds;
    long pause = 50;
    json_t *h = NULL;
    while (jt_nats_now() < until) {
        for (int i = 0; i < PL_WORKERS; i++)
            if (pl->w[i].pid > 0 && !jt_proc_alive(pl->w[i].pid))
                pl_fail(pl, "worker %s exited during start", pl->w[i].id);
        if (pl->gw.pid > 0 && !jt_proc_alive(pl->gw.pid))
            pl_fail(pl, "the gateway exited during start");
        json_decref(h);
        h = pl_health(pl);
        json_t *wk = jt_json_at(h, "checks.workers");
        if (json_is_true(jt_json_at(h, "checks.nats.connected")) &&
            json_integer_value(json_object_get(wk, "live")) >= workers &&
            json_integer_value(json_object_get(wk, "measuring")) >= workers) {
            json_decref(h);
            return;
        }
        jt_nats_sleep_ms(pause);
        pause = pause < 400 ? pause * 2 : 400;
    }
    pl_show("last health", h);
    json_decref(h);
    pl_fail(pl, "the system was not ready (%d measuring workers) within %.0f s", workers, seconds);
}

void pl_post_to(pl_t *pl, const char *path, const char *body, const char *hdr, char *id,
                size_t idlen)
{
    const char *hdrs[] = {hdr, NULL};
    jt_curl_resp_t r;
    if (jt_curl_request(pl->port, "POST", path, body, -1, hdrs, 30, &r) != 0 || r.status != 202 ||
        json_string_value(json_object_get(r.json, "task_id")) == NULL) {
        fprintf(stderr, "POST %s -> %ld: %.2000s\n", path, r.status, r.body ? r.body : "");
        jt_curl_resp_free(&r);
        pl_fail(pl, "POST %s was not accepted", path);
    }
    snprintf(id, idlen, "%s", jt_json_str(r.json, "task_id"));
    jt_curl_resp_free(&r);
}

void pl_post(pl_t *pl, const char *body, char *id, size_t idlen)
{
    pl_post_to(pl, PL_MEASURE, body, NULL, id, idlen);
}

json_t *pl_get(const pl_t *pl, const char *id, long *status)
{
    char path[384];
    jt_curl_resp_t r;
    json_t *rec = NULL;
    snprintf(path, sizeof path, "/api/v1/tasks/%s", id);
    long st = -1;
    if (jt_curl_request(pl->port, "GET", path, NULL, 0, NULL, 20, &r) == 0) {
        st = r.status;
        if (r.status == 200 && json_is_object(r.json))
            rec = json_incref(r.json);
    }
    if (status != NULL)
        *status = st;
    jt_curl_resp_free(&r);
    return rec;
}

json_t *pl_wait_status(pl_t *pl, const char *id, const char *want, double seconds)
{
    double until = jt_nats_now() + seconds;
    long pause = 50;
    json_t *rec = NULL;
    while (jt_nats_now() < until) {
        json_decref(rec);
        rec = pl_get(pl, id, NULL);
        const char *st = jt_json_str(rec, "status");
        size_t n = strlen(st);
        for (const char *p = want; n > 0 && (p = strstr(p, st)) != NULL; p += n)
            if ((p == want || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
                return rec;
        jt_nats_sleep_ms(pause);
        pause = pause < 500 ? pause * 3 / 2 : 500;
    }
    pl_show("last record", rec);
    json_decref(rec);
    pl_fail(pl, "task %s did not reach [%s] within %.0f s", id, want, seconds);
}

json_t *pl_wait_final(pl_t *pl, const char *id, double seconds)
{
    return pl_wait_status(pl, id, "completed failed cancelled", seconds);
}
