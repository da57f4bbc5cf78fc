/* poison.c -- MaxDeliver advisories of the jobs consumer: store the task failed, delete the
 * message. */
#include "poison.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus_names.h"
#include "job.h"
#include "job_msgpack.h"
#include "log.h"
#include "nats_status.h"
#include "subscription.h"
#include "task_report.h"

#define ADVISORY_SUBJECT                                                                           \
    "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." JT_STREAM_JOBS "." JT_CONSUMER_WORKERS
#define ADVISORY_MAX_BYTES 8192

struct jt_poison {
    jt_bus_t *bus;
    char worker_id[128];
    natsSubscription *sub;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done; /* the subscription delivers nothing more */
};

/* Task id of the stored job: its own, else Nats-Msg-Id, else "seq-<n>". */
static void task_id_of(natsMsg *m, uint64_t seq, char *buf, size_t len)
{
    jt_job_t job;
    jt_error_t err;
    jt_job_init(&job);
    int n = natsMsg_GetDataLength(m);
    const char *hdr = NULL;
    if (n > 0 && (size_t)n <= JT_MAX_BODY_BYTES &&
        jt_job_from_msgpack(&job, (const uint8_t *)natsMsg_GetData(m), (size_t)n, &err) == JT_OK &&
        jt_task_id_valid(job.task_id))
        snprintf(buf, len, "%s", job.task_id);
    else if (natsMsgHeader_Get(m, "Nats-Msg-Id", &hdr) == NATS_OK && jt_task_id_valid(hdr))
        snprintf(buf, len, "%s", hdr);
    else
        snprintf(buf, len, "seq-%llu", (unsigned long long)seq);
    jt_job_cleanup(&job);
}

static void give_up(jt_poison_t *p, uint64_t seq, long long deliveries)
{
    natsMsg *m = NULL;
    jsErrCode jerr = 0;
    if (js_GetMsg(&m, p->bus->js, JT_STREAM_JOBS, seq, NULL, &jerr) != NATS_OK)
        return; /* already gone: acked or deleted by another worker */
    char task_id[JT_TASK_ID_MAX + 1];
    task_id_of(m, seq, task_id, sizeof task_id);
    natsMsg_Destroy(m);
    jt_report_t rep;
    jt_error_t err;
    bool final = false;
    if (jt_report_begin(&rep, p->bus, task_id, p->worker_id, NULL, &final, &err) != JT_OK) {
        jt_log(JT_LOG_WARN, task_id, "max deliveries reached, record unreadable: %s", err.message);
        return; /* keep the message: the next advisory or an operator deals with it */
    }
    char message[300];
    snprintf(message, sizeof message,
             "the job was delivered %lld times without finishing (the workers running it died "
             "or stopped answering); giving up",
             deliveries);
    jt_status_t s =
        final ? JT_OK
              : jt_report_final(&rep, JT_TASK_FAILED, NULL, "max_deliveries", message, &err);
    jt_report_cleanup(&rep);
    if (s != JT_OK) {
        jt_log(JT_LOG_WARN, task_id, "cannot store the failure: %s", err.message);
        return;
    }
    js_DeleteMsg(p->bus->js, JT_STREAM_JOBS, seq, NULL, &jerr);
    jt_log(JT_LOG_WARN, task_id, "max deliveries reached: %s",
           final ? "already final, message "
                   "removed"
                 : "stored failed");
}

static void on_advisory(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)nc;
    (void)sub;
    jt_poison_t *p = closure;
    int n = natsMsg_GetDataLength(msg);
    json_t *adv = n > 0 && n <= ADVISORY_MAX_BYTES
                      ? json_loadb(natsMsg_GetData(msg), (size_t)n, 0, NULL)
                      : NULL;
    json_t *seq = json_object_get(adv, "stream_seq");
    if (json_is_integer(seq) && json_integer_value(seq) > 0)
        give_up(p, (uint64_t)json_integer_value(seq),
                (long long)json_integer_value(json_object_get(adv, "deliveries")));
    json_decref(adv);
    natsMsg_Destroy(msg);
}

static void on_complete(void *closure)
{
    jt_poison_t *p = closure;
    pthread_mutex_lock(&p->lock);
    p->done = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

jt_status_t jt_poison_start(jt_bus_t *bus, const char *worker_id, jt_poison_t **out,
                            jt_error_t *err)
{
    jt_poison_t *p = calloc(1, sizeof *p);
    if (p == NULL)
        return jt_error_set(err, JT_ERR_NOMEM, "", "out of memory");
    p->bus = bus;
    snprintf(p->worker_id, sizeof p->worker_id, "%s", worker_id);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    natsStatus s = natsConnection_QueueSubscribe(&p->sub, bus->nc, ADVISORY_SUBJECT,
                                                 JT_QUEUE_WORKERS, on_advisory, p);
    if (s == NATS_OK)
        s = natsSubscription_SetOnCompleteCB(p->sub, on_complete, p);
    if (s != NATS_OK) {
        char why[256];
        jt_status_t st =
            jt_error_set(err, jt_nats_status(s), ADVISORY_SUBJECT, "cannot subscribe to %s: %s",
                         ADVISORY_SUBJECT, jt_nats_describe(s, why, sizeof why));
        jt_subscription_retire(bus->nc, p->sub);
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->cond);
        free(p);
        return st;
    }
    *out = p;
    return JT_OK;
}

void jt_poison_stop(jt_poison_t *p)
{
    if (p == NULL)
        return;
    bool done = natsSubscription_Unsubscribe(p->sub) != NATS_OK;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&p->lock);
    while (!done && !p->done)
        if (pthread_cond_timedwait(&p->cond, &p->lock, &until) == ETIMEDOUT)
            break;
    done = done || p->done;
    pthread_mutex_unlock(&p->lock);
    jt_subscription_retire(p->bus->nc, p->sub);
    if (!done)
        return; /* a callback still runs: leak rather than free under it */
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
    free(p);
}
