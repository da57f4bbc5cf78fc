/* validate_service.c -- NATS request/reply responder running the correctness gate on its own
 * runner.
 *
 * on_request runs on the subscription's nats.c delivery thread; start/stop
 * on the daemon's main thread.
 */
#include "validate_service.h"
#include "clock.h"
#include "nats_status.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus_names.h"
#include "job.h"
#include "job_msgpack.h"
#include "log.h"
#include "subscription.h"
#include "validation.h"
#include "value.h"

#define STOP_WAIT_S 30

struct jt_validate_service {
    jt_config_t cfg;
    int core;
    natsConnection *nc;
    natsSubscription *sub;
    pthread_mutex_t serve_lock;  /* one request at a time */
    pthread_mutex_t runner_lock; /* guards runner (swapped on respawn) for cancel */
    jt_runner_t *runner;
    bool stopping; /* under runner_lock */
    pthread_mutex_t done_lock;
    pthread_cond_t done_cond;
    bool done; /* the subscription delivers nothing more */
};

static json_t *error_body(const char *error, const char *message)
{
    return json_pack("{s:s, s:s}", "error", error, "message", message);
}

/* Answer req with body (stolen) as a msgpack map: one encoding on every subject (docs/bus.md). */
static void reply_msgpack(natsConnection *nc, natsMsg *req, json_t *body)
{
    const char *to = natsMsg_GetReply(req);
    jt_blob_t blob = {0};
    jt_error_t err;
    if (body != NULL && jt_value_from_json(body, "reply", &blob, &err) != JT_OK) {
        jt_log_warn("validate: cannot encode the reply: %s", err.message);
        json_decref(body);
        jt_blob_free(&blob);
        body = error_body("sandbox_failed", "the validation reply could not be encoded");
        if (body == NULL || jt_value_from_json(body, "reply", &blob, &err) != JT_OK)
            blob.len = 0;
    }
    if (to != NULL && to[0] != '\0' && blob.len > 0)
        natsConnection_Publish(nc, to, blob.data, (int)blob.len);
    jt_blob_free(&blob);
    json_decref(body);
}

/* Replace a broken runner; the swap is visible to jt_validate_service_stop. */
static void respawn(jt_validate_service_t *vs)
{
    jt_error_t err;
    jt_runner_t *fresh = NULL;
    if (jt_runner_spawn(&vs->cfg, &fresh, &err) != JT_OK) {
        jt_log_error("validate service: cannot respawn the sandbox runner: %s", err.message);
        fresh = NULL;
    }
    pthread_mutex_lock(&vs->runner_lock);
    jt_runner_t *old = vs->runner;
    vs->runner = fresh;
    pthread_mutex_unlock(&vs->runner_lock);
    jt_runner_destroy(old);
}

static json_t *serve(jt_validate_service_t *vs, const jt_job_t *job, double started)
{
    pthread_mutex_lock(&vs->runner_lock);
    bool stopping = vs->stopping;
    pthread_mutex_unlock(&vs->runner_lock);
    if (stopping)
        return error_body("sandbox_failed", "the worker is shutting down");
    if (vs->runner == NULL)
        respawn(vs);
    if (vs->runner == NULL)
        return error_body("sandbox_failed", "no sandbox runner could be started on this worker");
    jt_validation_t v;
    jt_validation_init(&v);
    jt_error_t err;
    jt_status_t s = jt_runner_validate(vs->runner, job, vs->core, &v, &err);
    json_t *body;
    if (s == JT_OK) {
        body = json_object();
        if (body != NULL) {
            json_object_set_new(body, "validation", jt_validation_to_json(&v));
            json_object_set_new(body, "processing_time_seconds",
                                json_real(jt_clock_now() - started));
        }
    } else {
        jt_log_warn("validate service: sandbox failed: %s", err.message);
        body = error_body("sandbox_failed", err.message);
        respawn(vs); /* the runner's state is unknown after an error */
    }
    jt_validation_cleanup(&v);
    return body;
}

static void on_request(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)sub;
    jt_validate_service_t *vs = closure;
    double started = jt_clock_now();
    jt_job_t job;
    jt_error_t err;
    jt_job_init(&job);
    int len = natsMsg_GetDataLength(msg);
    json_t *body;
    if (len <= 0 || (size_t)len > JT_MAX_BODY_BYTES) {
        body = error_body("invalid_job", len <= 0 ? "empty request: expected a msgpack job"
                                                  : "request exceeds the maximum job size");
    } else if (jt_job_from_msgpack(&job, (const uint8_t *)natsMsg_GetData(msg), (size_t)len,
                                   &err) != JT_OK) {
        char message[800];
        snprintf(message, sizeof message, "%s%s%s", err.path, err.path[0] ? ": " : "", err.message);
        body = error_body("invalid_job", message);
    } else {
        pthread_mutex_lock(&vs->serve_lock);
        body = serve(vs, &job, started);
        pthread_mutex_unlock(&vs->serve_lock);
    }
    reply_msgpack(nc, msg, body);
    jt_job_cleanup(&job);
    natsMsg_Destroy(msg);
}

static void on_complete(void *closure)
{
    jt_validate_service_t *vs = closure;
    pthread_mutex_lock(&vs->done_lock);
    vs->done = true;
    pthread_cond_broadcast(&vs->done_cond);
    pthread_mutex_unlock(&vs->done_lock);
}

static void free_service(jt_validate_service_t *vs)
{
    jt_runner_destroy(vs->runner);
    pthread_mutex_destroy(&vs->serve_lock);
    pthread_mutex_destroy(&vs->runner_lock);
    pthread_mutex_destroy(&vs->done_lock);
    pthread_cond_destroy(&vs->done_cond);
    free(vs);
}

jt_status_t jt_validate_service_start(natsConnection *nc, const jt_config_t *cfg, int core,
                                      jt_runner_t *runner, jt_validate_service_t **out,
                                      jt_error_t *err)
{
    jt_validate_service_t *vs = calloc(1, sizeof *vs);
    if (vs == NULL) {
        jt_runner_destroy(runner);
        return jt_error_set(err, JT_ERR_NOMEM, "", "out of memory");
    }
    vs->cfg = *cfg;
    vs->core = core;
    vs->nc = nc;
    vs->runner = runner;
    pthread_mutex_init(&vs->serve_lock, NULL);
    pthread_mutex_init(&vs->runner_lock, NULL);
    pthread_mutex_init(&vs->done_lock, NULL);
    pthread_cond_init(&vs->done_cond, NULL);
    natsStatus s = natsConnection_QueueSubscribe(&vs->sub, nc, JT_SUBJECT_VALIDATE,
                                                 JT_QUEUE_WORKERS, on_request, vs);
    if (s == NATS_OK)
        s = natsSubscription_SetOnCompleteCB(vs->sub, on_complete, vs);
    if (s != NATS_OK) {
        char why[256];
        jt_status_t st = jt_error_set(err, jt_nats_status(s), JT_SUBJECT_VALIDATE,
                                      "cannot subscribe to %s: %s", JT_SUBJECT_VALIDATE,
                                      jt_nats_describe(s, why, sizeof why));
        jt_subscription_retire(nc, vs->sub);
        free_service(vs);
        return st;
    }
    *out = vs;
    return JT_OK;
}

void jt_validate_service_stop(jt_validate_service_t *vs)
{
    if (vs == NULL)
        return;
    pthread_mutex_lock(&vs->runner_lock);
    vs->stopping = true;
    if (vs->runner != NULL)
        jt_runner_cancel(vs->runner); /* ignored by the runner when nothing is in flight */
    pthread_mutex_unlock(&vs->runner_lock);
    bool done = natsSubscription_Unsubscribe(vs->sub) != NATS_OK; /* closed already */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += STOP_WAIT_S;
    pthread_mutex_lock(&vs->done_lock);
    while (!vs->done && !done)
        if (pthread_cond_timedwait(&vs->done_cond, &vs->done_lock, &until) == ETIMEDOUT)
            break;
    done = done || vs->done;
    pthread_mutex_unlock(&vs->done_lock);
    jt_subscription_retire(vs->nc, vs->sub);
    if (!done) {
        /* A request is still being served: leaking beats freeing under its feet. */
        jt_log_warn("validate service: a request did not finish within %d s", STOP_WAIT_S);
        return;
    }
    free_service(vs);
}
