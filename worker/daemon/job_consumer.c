/* job_consumer.c -- the job thread: fetch, decode, skip, hand to job_execution, then ack / nak / term.
 *
 * job_main runs on its own thread; on_cancel on a nats.c thread; the public
 * functions as job_consumer.h says. The runner slot holds the job in flight
 * (task id, message, runner, abort bits) so that cancel, keepalive and lease
 * loss act on the right job and never on the next one.
 */
#include "job_consumer.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus_names.h"
#include "job_execution.h"
#include "job_msgpack.h"
#include "log.h"
#include "nats_status.h"
#include "runner_slot.h"

#define FETCH_TIMEOUT_MS 1000
#define FETCH_ERROR_PAUSE_MS 500

struct jt_job_consumer {
    jt_config_t cfg;
    char not_measuring_why[512];
    char worker_id[128];
    jt_job_context_t ctx; /* what each job sees: points into the fields above */
    jt_runner_slot_t slot;
    void (*on_exit)(void *ctx);
    void *on_exit_ctx;
    natsSubscription *jobs;
    natsSubscription *cancels;
    pthread_t thread;
    pthread_mutex_t lock; /* guards cancel_done */
    pthread_cond_t cancel_cond;
    bool cancel_done; /* the cancel subscription delivers no more */
};

/* Nak unfinished work, except on its last allowed delivery. */
static void settle_requeue(jt_job_consumer_t *j, jt_job_execution_t *run, natsMsg *msg);

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Ack (synchronously: the job must not come back once its result is stored). */
static void settle(jt_job_consumer_t *j, natsMsg *msg, jt_settle_t how, const char *task_id)
{
    jt_runner_slot_release_msg(&j->slot); /* keepalive must not touch it any more */
    natsStatus s = NATS_OK;
    jsErrCode jerr = 0;
    switch (how) {
    case JT_SETTLE_ACK:
        s = natsMsg_AckSync(msg, NULL, &jerr);
        break;
    case JT_SETTLE_NAK:
    case JT_SETTLE_REQUEUE:
        s = natsMsg_Nak(msg, NULL);
        break;
    case JT_SETTLE_TERM:
        s = natsMsg_Term(msg, NULL);
        break;
    }
    if (s != NATS_OK) {
        char why[256];
        jt_log(JT_LOG_WARN, task_id, "settling the job failed (%s); JetStream will redeliver it",
               jt_nats_describe(s, why, sizeof why));
    }
}

/* Task id: the job's own, else Nats-Msg-Id, else "seq-<stream sequence>". */
static void pick_task_id(const jt_job_t *job, natsMsg *msg, uint64_t seq, char *buf, size_t len)
{
    const char *hdr = NULL;
    if (job != NULL && job->task_id != NULL)
        snprintf(buf, len, "%s", job->task_id);
    else if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &hdr) == NATS_OK && hdr != NULL && hdr[0])
        snprintf(buf, len, "%s", hdr);
    else
        snprintf(buf, len, "seq-%llu", (unsigned long long)seq);
}

static void process(jt_job_consumer_t *j, natsMsg *msg)
{
    jt_job_execution_t run;
    memset(&run, 0, sizeof run);
    run.ctx = &j->ctx;
    jt_job_init(&run.job);
    run.delivered = 1;
    uint64_t seq = 0;
    jsMsgMetaData *meta = NULL;
    if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
        run.delivered = meta->NumDelivered;
        seq = meta->Sequence.Stream;
        jsMsgMetaData_Destroy(meta);
    }
    int len = natsMsg_GetDataLength(msg);
    jt_error_t derr;
    jt_status_t ds;
    if (len <= 0)
        ds = jt_error_set(&derr, JT_ERR_INVALID, "", "empty message: expected a msgpack job");
    else if ((size_t)len > JT_MAX_BODY_BYTES)
        ds = jt_error_set(&derr, JT_ERR_TOO_LARGE, "", "job exceeds %u bytes", JT_MAX_BODY_BYTES);
    else
        ds = jt_job_from_msgpack(&run.job, (const uint8_t *)natsMsg_GetData(msg), (size_t)len,
                                 &derr);
    pick_task_id(ds == JT_OK ? &run.job : NULL, msg, seq, run.task_id, sizeof run.task_id);
    if (!jt_task_id_valid(run.task_id)) {
        jt_log_error("job at stream sequence %llu has an unusable task id; terminated",
                     (unsigned long long)seq);
        natsMsg_Term(msg, NULL);
        jt_job_cleanup(&run.job);
        return;
    }
    if (ds == JT_OK && run.job.task_id == NULL && (run.job.task_id = strdup(run.task_id)) == NULL) {
        natsMsg_Nak(msg, NULL);
        jt_job_cleanup(&run.job);
        return;
    }
    jt_runner_slot_begin(&j->slot, run.task_id, msg);
    jt_log(JT_LOG_INFO, run.task_id, "job picked (delivery %llu)",
           (unsigned long long)run.delivered);

    jt_settle_t how;
    jt_error_t err;
    bool final = false;
    if (jt_report_begin(&run.report, j->ctx.bus, run.task_id, j->worker_id,
                        ds == JT_OK ? &run.job : NULL, &final, &err) != JT_OK) {
        jt_log(JT_LOG_WARN, run.task_id, "task state unreadable (%s); job nak'ed", err.message);
        how = JT_SETTLE_NAK;
    } else if (final) {
        jt_log(JT_LOG_INFO, run.task_id, "task already final; acking the redelivery");
        how = JT_SETTLE_ACK;
    } else if (ds != JT_OK) {
        char message[900];
        snprintf(message, sizeof message, "invalid job on the bus: %s%s%s", derr.path,
                 derr.path[0] ? ": " : "", derr.message);
        jt_log(JT_LOG_WARN, run.task_id, "%s", message);
        how = jt_report_final(&run.report, JT_TASK_FAILED, NULL, "invalid_job", message, &err) ==
                      JT_OK
                  ? JT_SETTLE_TERM
                  : JT_SETTLE_NAK;
    } else {
        how = jt_job_execute(&run);
    }
    if (how == JT_SETTLE_REQUEUE)
        settle_requeue(j, &run, msg);
    else
        settle(j, msg, how, run.task_id);
    jt_runner_slot_end(&j->slot);
    jt_report_cleanup(&run.report);
    jt_job_cleanup(&run.job);
}

static void settle_requeue(jt_job_consumer_t *j, jt_job_execution_t *run, natsMsg *msg)
{
    jt_error_t err;
    const char *why = run->requeue_why[0] ? run->requeue_why : "interrupted";
    if (run->delivered >= JT_JOBS_MAX_DELIVER) {
        jt_log(JT_LOG_WARN, run->task_id, "last allowed delivery failed: %s", why);
        char message[700];
        snprintf(message, sizeof message, "the job failed on its last allowed delivery (%d): %s",
                 JT_JOBS_MAX_DELIVER, why);
        if (jt_report_final(&run->report, JT_TASK_FAILED, NULL,
                            run->requeue_type[0] ? run->requeue_type : "infrastructure", message,
                            &err) == JT_OK) {
            settle(j, msg, JT_SETTLE_ACK, run->task_id);
            return;
        }
    } else {
        jt_log(JT_LOG_INFO, run->task_id, "job nak'ed for another attempt: %s", why);
        jt_report_progress(&run->report, JT_TASK_QUEUED, "queued", 0, 0,
                           run->job.energy_measurement_trials, NAN, &err);
    }
    settle(j, msg, JT_SETTLE_NAK, run->task_id);
}

static void *job_main(void *arg)
{
    jt_job_consumer_t *j = arg;
    bool reported = false;
    while (!jt_runner_slot_stopping(&j->slot)) {
        natsMsgList list = {0};
        jsErrCode jerr = 0;
        natsStatus s = natsSubscription_Fetch(&list, j->jobs, 1, FETCH_TIMEOUT_MS, &jerr);
        if (s == NATS_TIMEOUT)
            continue; /* empty queue */
        if (s != NATS_OK) {
            char why[256];
            if (!reported)
                jt_log_warn("fetching jobs failed: %s (retrying)",
                            jt_nats_describe(s, why, sizeof why));
            reported = true;
            sleep_ms(FETCH_ERROR_PAUSE_MS);
            continue;
        }
        reported = false;
        for (int i = 0; i < list.Count; i++) {
            natsMsg *msg = list.Msgs[i];
            list.Msgs[i] = NULL;
            if (jt_runner_slot_stopping(&j->slot))
                natsMsg_Nak(msg, NULL); /* fetched as we stop: give it straight back */
            else
                process(j, msg);
            natsMsg_Destroy(msg);
        }
        natsMsgList_Destroy(&list);
    }
    if (j->on_exit != NULL)
        j->on_exit(j->on_exit_ctx);
    return NULL;
}

static void on_cancel(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)nc;
    (void)sub;
    jt_job_consumer_t *j = closure;
    const char *subject = natsMsg_GetSubject(msg);
    size_t plen = strlen(JT_SUBJECT_CANCEL_PREFIX);
    if (subject != NULL && strncmp(subject, JT_SUBJECT_CANCEL_PREFIX, plen) == 0 &&
        subject[plen] != '\0') {
        char id[JT_MAX_NAME_BYTES + 1];
        snprintf(id, sizeof id, "%s", subject + plen);
        char current[JT_MAX_NAME_BYTES + 1];
        if (jt_runner_slot_current(&j->slot, current, sizeof current) &&
            strcmp(id, current) == 0) {
            jt_log(JT_LOG_INFO, id, "cancellation requested; aborting");
            jt_runner_slot_abort(&j->slot, JT_ABORT_CANCELLED, id);
        }
    }
    natsMsg_Destroy(msg);
}

static void on_cancel_complete(void *closure)
{
    jt_job_consumer_t *j = closure;
    pthread_mutex_lock(&j->lock);
    j->cancel_done = true;
    pthread_cond_broadcast(&j->cancel_cond);
    pthread_mutex_unlock(&j->lock);
}

static void free_consumer(jt_job_consumer_t *j)
{
    natsSubscription_Destroy(j->jobs);
    jt_runner_slot_cleanup(&j->slot);
    pthread_mutex_destroy(&j->lock);
    pthread_cond_destroy(&j->cancel_cond);
    free(j);
}

jt_status_t jt_job_consumer_start(const jt_job_consumer_opts_t *o, jt_runner_t *runner,
                                  jt_job_consumer_t **out, jt_error_t *err)
{
    jt_job_consumer_t *j = calloc(1, sizeof *j);
    if (j == NULL) {
        jt_runner_destroy(runner);
        return jt_error_set(err, JT_ERR_NOMEM, "", "out of memory");
    }
    j->cfg = *o->cfg;
    snprintf(j->not_measuring_why, sizeof j->not_measuring_why, "%s",
             o->not_measuring_why ? o->not_measuring_why : "no meter");
    snprintf(j->worker_id, sizeof j->worker_id, "%s", o->worker_id);
    j->ctx = (jt_job_context_t){.cfg = &j->cfg,
                                .bus = o->bus,
                                .ms = o->ms,
                                .not_measuring_why = j->not_measuring_why,
                                .lease = o->lease,
                                .worker_id = j->worker_id,
                                .slot = &j->slot};
    jt_runner_slot_init(&j->slot, runner);
    j->on_exit = o->on_exit;
    j->on_exit_ctx = o->ctx;
    pthread_mutex_init(&j->lock, NULL);
    pthread_cond_init(&j->cancel_cond, NULL);

    char why[256];
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = JT_STREAM_JOBS;
    so.Consumer = JT_CONSUMER_WORKERS; /* bind: the topology made it; never delete it */
    jsErrCode jerr = 0;
    natsStatus s = js_PullSubscribe(&j->jobs, o->bus->js, JT_SUBJECT_JOBS, JT_CONSUMER_WORKERS,
                                    NULL, &so, &jerr);
    if (s != NATS_OK) {
        jt_status_t st = jt_error_set(err, jt_nats_status(s), JT_CONSUMER_WORKERS,
                                      "cannot bind consumer %s of stream %s: %s (jerr %d)",
                                      JT_CONSUMER_WORKERS, JT_STREAM_JOBS,
                                      jt_nats_describe(s, why, sizeof why), (int)jerr);
        free_consumer(j);
        return st;
    }
    s = natsConnection_Subscribe(&j->cancels, o->bus->nc, JT_SUBJECT_CANCEL_PREFIX "*", on_cancel,
                                 j);
    if (s == NATS_OK)
        s = natsSubscription_SetOnCompleteCB(j->cancels, on_cancel_complete, j);
    if (s != NATS_OK) {
        jt_status_t st = jt_error_set(err, jt_nats_status(s), JT_SUBJECT_CANCEL_PREFIX,
                                      "cannot subscribe to cancellations: %s",
                                      jt_nats_describe(s, why, sizeof why));
        natsSubscription_Destroy(j->cancels);
        free_consumer(j);
        return st;
    }
    if (pthread_create(&j->thread, NULL, job_main, j) != 0) {
        natsSubscription_Unsubscribe(j->cancels);
        natsSubscription_Destroy(j->cancels);
        free_consumer(j);
        return jt_error_set(err, JT_ERR_SYSTEM, "", "cannot start the job thread");
    }
    *out = j;
    return JT_OK;
}

void jt_job_consumer_stop(jt_job_consumer_t *j)
{
    if (j != NULL)
        jt_runner_slot_stop(&j->slot);
}

void jt_job_consumer_destroy(jt_job_consumer_t *j)
{
    if (j == NULL)
        return;
    jt_job_consumer_stop(j);
    pthread_join(j->thread, NULL);
    bool done = natsSubscription_Unsubscribe(j->cancels) != NATS_OK;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock(&j->lock);
    while (!done && !j->cancel_done)
        if (pthread_cond_timedwait(&j->cancel_cond, &j->lock, &until) != 0)
            break;
    pthread_mutex_unlock(&j->lock);
    natsSubscription_Destroy(j->cancels);
    free_consumer(j);
}

void jt_job_consumer_keepalive(jt_job_consumer_t *j)
{
    jt_runner_slot_keepalive(&j->slot);
}

void jt_job_consumer_lease_lost(jt_job_consumer_t *j)
{
    jt_runner_slot_abort(&j->slot, JT_ABORT_LEASE_LOST, NULL);
}

bool jt_job_consumer_current(jt_job_consumer_t *j, char *buf, size_t len)
{
    return jt_runner_slot_current(&j->slot, buf, len);
}
