/* job_consumer.c -- the job thread: fetch, decode, skip, hand to job_execution, then ack/nak/term.
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

#include "batch_work.h"
#include "bus_names.h"
#include "clock.h"
#include "job_execution.h"
#include "job_msgpack.h"
#include "log.h"
#include "nats_status.h"
#include "retry.h"
#include "subscription.h"
#include "runner_slot.h"
#include "task_state.h"
#include "topology.h"
#include "value.h"

#define FETCH_TIMEOUT_MS 1000
#define FETCH_ERROR_PAUSE_MAX_MS 5000 /* fetch errors: back-off from 250 ms up to this */
#define FETCH_ERROR_LOG_EVERY_S 30.0
/* A job's KV reads and writes are retried this long through a bus outage (the delivery is
 * kept alive with InProgress meanwhile); a stopping worker gives up after the grace. */
#define JOB_BUS_PATIENCE_MS 120000
#define JOB_BUS_STOP_GRACE_MS 5000
#define SETTLE_ATTEMPTS 3  /* an ack lost in an election is sent again */
#define SWEEP_EVERY_S 30.0 /* an idle worker looks for acknowledged jobs back in the queue */
#define SWEEP_MAX_SEQS 1000
#define REJECTED_ID_MAX 1024 /* bytes of an unusable Nats-Msg-Id echoed in a rejection */

struct jt_job_consumer {
    jt_config_t cfg;
    char not_measuring_why[512];
    char worker_id[128];
    jt_job_context_t ctx; /* what each job sees: points into the fields above */
    jt_runner_slot_t slot;
    jt_retry_t retry; /* of every job's KV reads and writes: see JOB_BUS_PATIENCE_MS */
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

/* The retry policy's stop: the worker is shutting down. */
static int slot_stopping(void *ctx)
{
    return jt_runner_slot_stopping(ctx);
}

/* One attempt to settle msg. */
static natsStatus settle_once(natsMsg *msg, jt_settle_t how, int delay_ms)
{
    jsErrCode jerr = 0;
    switch (how) {
    case JT_SETTLE_ACK:
        return natsMsg_AckSync(msg, NULL, &jerr);
    case JT_SETTLE_NAK:
    case JT_SETTLE_REQUEUE:
        return delay_ms > 0 ? natsMsg_NakWithDelay(msg, delay_ms, NULL) : natsMsg_Nak(msg, NULL);
    case JT_SETTLE_TERM:
        return natsMsg_Term(msg, NULL);
    }
    return NATS_INVALID_ARG;
}

/* Ack (synchronously: the job must not come back once its result is stored), nak (after
 * delay_ms) or term; an answer lost while the stream elects a leader is sent again a few
 * times (JetStream ignores a repeated ack; a redelivery of a final task is acked unrun). */
static void settle(jt_job_consumer_t *j, natsMsg *msg, jt_settle_t how, int delay_ms,
                   const char *task_id)
{
    jt_runner_slot_release_msg(&j->slot); /* keepalive must not touch it any more */
    const jt_retry_t once_more = {.patience_ms = 10000};
    jt_backoff_t b;
    jt_backoff_init(&b, &once_more);
    natsStatus s;
    for (int attempt = 1;; attempt++) {
        s = settle_once(msg, how, delay_ms);
        if (s == NATS_OK || attempt == SETTLE_ATTEMPTS || !jt_nats_temporary(s, 0) ||
            !jt_backoff_wait(&b))
            break;
    }
    if (s != NATS_OK) {
        char why[256];
        jt_log(JT_LOG_WARN, task_id, "settling the job failed (%s); JetStream will redeliver it",
               jt_nats_describe(s, why, sizeof why));
    }
}

/* Publish a map (msgpack) on subject, with the replay header when replay; best effort. */
static void publish_map(jt_job_consumer_t *j, const char *subject, const json_t *map, bool replay,
                        const char *log_id)
{
    jt_blob_t blob = {0};
    jt_error_t err;
    natsMsg *m = NULL;
    natsStatus s = NATS_NO_MEMORY;
    if (jt_value_from_json(map, "record", &blob, &err) != JT_OK) {
        jt_log(JT_LOG_WARN, log_id, "cannot encode a record for %s: %s", subject, err.message);
        return;
    }
    if (natsMsg_Create(&m, subject, NULL, (const char *)blob.data, (int)blob.len) == NATS_OK &&
        (!replay || natsMsgHeader_Set(m, JT_HEADER_REPLAY, "true") == NATS_OK))
        s = natsConnection_PublishMsg(j->ctx.bus->nc, m);
    if (s != NATS_OK) {
        char why[256];
        jt_log(JT_LOG_WARN, log_id, "cannot publish on %s: %s", subject,
               jt_nats_describe(s, why, sizeof why));
    }
    natsMsg_Destroy(m);
    jt_blob_free(&blob);
}

/* The one answer to a job or batch without a usable id: a map on
 * JT_SUBJECT_REJECTED_PREFIX<stream sequence>, then the message is terminated. */
static void reject(jt_job_consumer_t *j, natsMsg *msg, uint64_t seq, const char *error_type,
                   const char *message)
{
    char subject[64];
    const char *hdr = NULL;
    snprintf(subject, sizeof subject, "%s%llu", JT_SUBJECT_REJECTED_PREFIX,
             (unsigned long long)seq);
    jt_log_error("message at stream sequence %llu on %s: %s; terminated, answered on %s",
                 (unsigned long long)seq, natsMsg_GetSubject(msg), message, subject);
    json_t *map = json_pack("{s:s, s:s, s:s, s:I, s:s}", "status", "rejected", "error_type",
                            error_type, "error", message, "stream_sequence", (json_int_t)seq,
                            "subject", natsMsg_GetSubject(msg));
    if (map != NULL) {
        if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &hdr) == NATS_OK && hdr != NULL)
            json_object_set_new(map, "nats_msg_id",
                                json_stringn_nocheck(hdr, strnlen(hdr, REJECTED_ID_MAX)));
        else
            json_object_set_new(map, "nats_msg_id", json_null());
        publish_map(j, subject, map, false, NULL);
        json_decref(map);
    }
    settle(j, msg, JT_SETTLE_TERM, 0, NULL);
}

/* Task id: the job's own task_id, else the Nats-Msg-Id header. false, with why (error_type)
 * and text set, when neither gives one that keeps the id rule (jt_task_id_valid): the job is
 * then rejected, never given an id the submitter could not know. */
static bool pick_task_id(const jt_job_t *job, const jt_error_t *derr, natsMsg *msg, char *buf,
                         size_t len, const char **why, char *text, size_t text_len)
{
    const char *hdr = NULL;
    buf[0] = '\0';
    if (job != NULL && job->task_id != NULL) {
        snprintf(buf, len, "%s", job->task_id);
        return true;
    }
    if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &hdr) == NATS_OK && hdr != NULL && hdr[0]) {
        if (jt_task_id_valid(hdr)) {
            snprintf(buf, len, "%s", hdr);
            return true;
        }
        *why = "invalid_task_id";
        snprintf(text, text_len,
                 "the Nats-Msg-Id header is no usable task id: 1..%d characters of "
                 "[A-Za-z0-9_-]",
                 JT_TASK_ID_MAX);
        return false;
    }
    if (derr != NULL && strcmp(derr->path, "task_id") == 0) {
        *why = "invalid_task_id";
        snprintf(text, text_len, "task_id: %s", derr->message);
        return false;
    }
    *why = "missing_task_id";
    snprintf(text, text_len,
             "the job has neither a task_id field nor a Nats-Msg-Id header; one of them names "
             "the task (its progress and result subjects)%s%s",
             derr != NULL ? "; besides, " : "", derr != NULL ? derr->message : "");
    return false;
}

/* A job's first delivery found its task final already: a publish for a finished task id
 * (a new Nats-Msg-Id, or after the duplicate window). Its stored final record is sent again,
 * marked with JT_HEADER_REPLAY, on its progress and result subjects, so a subscriber
 * gets its answer. A task the gateway cancelled while queued is skipped: the gateway sent
 * that record itself and this message is that task's own job. */
static void replay_final(jt_job_consumer_t *j, const char *task_id)
{
    json_t *rec = NULL;
    jt_error_t err;
    char subject[JT_MAX_NAME_BYTES + 64];
    if (jt_task_get(j->ctx.bus->tasks, task_id, &rec, NULL, &err) != JT_OK)
        return;
    const char *status = json_string_value(json_object_get(rec, "status"));
    bool cancelled_queued = status != NULL && strcmp(status, "cancelled") == 0 &&
                            !json_is_string(json_object_get(rec, "worker"));
    if (!cancelled_queued) {
        jt_log(JT_LOG_INFO, task_id, "task already final: its record is sent again");
        if (jt_bus_task_subject(subject, sizeof subject, JT_SUBJECT_PROGRESS_PREFIX, task_id))
            publish_map(j, subject, rec, true, task_id);
        if (jt_bus_task_subject(subject, sizeof subject, JT_SUBJECT_RESULT_PREFIX, task_id))
            publish_map(j, subject, rec, true, task_id);
    }
    json_decref(rec);
}

/* A message of the batch subjects (batch_work.h). */
static void process_batch(jt_job_consumer_t *j, natsMsg *msg, const char *subject)
{
    jt_batch_delivery_t d = {.ctx = &j->ctx, .msg = msg, .delivered = 1};
    jsMsgMetaData *meta = NULL;
    if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
        d.delivered = meta->NumDelivered;
        jsMsgMetaData_Destroy(meta);
    }
    if (!jt_batch_delivery_id(&d)) {
        uint64_t seq = 0;
        if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
            seq = meta->Sequence.Stream;
            jsMsgMetaData_Destroy(meta);
        }
        reject(j, msg, seq, "invalid_batch_id",
               "no usable batch id (batch_id, else Nats-Msg-Id: 1..128 characters of "
               "[A-Za-z0-9_-])");
        return;
    }
    jt_runner_slot_begin(&j->slot, d.batch_id, msg);
    jt_settle_t how;
    if (strcmp(subject, JT_SUBJECT_BATCHES) == 0)
        how = jt_batch_intake(&d);
    else if (strcmp(subject, JT_SUBJECT_BATCH_GATE) == 0)
        how = jt_batch_gate(&d);
    else
        how = jt_batch_measure(&d);
    if (how == JT_SETTLE_REQUEUE && d.delivered >= JT_JOBS_MAX_DELIVER) {
        char why[160];
        snprintf(why, sizeof why, "the batch's %s failed on its last allowed delivery (%d)",
                 strcmp(subject, JT_SUBJECT_BATCH_GATE) == 0 ? "correctness gate" : "measurement",
                 JT_JOBS_MAX_DELIVER);
        jt_batch_give_up(&d, why);
        how = JT_SETTLE_ACK;
    }
    settle(j, msg, how == JT_SETTLE_REQUEUE ? JT_SETTLE_NAK : how, d.delay_ms, d.batch_id);
    jt_runner_slot_end(&j->slot);
}

static void process(jt_job_consumer_t *j, natsMsg *msg)
{
    const char *subject = natsMsg_GetSubject(msg);
    if (subject != NULL && strcmp(subject, JT_SUBJECT_JOBS) != 0 &&
        (strcmp(subject, JT_SUBJECT_BATCHES) == 0 || strcmp(subject, JT_SUBJECT_BATCH_GATE) == 0 ||
         strcmp(subject, JT_SUBJECT_BATCH_BLOCKS) == 0)) {
        process_batch(j, msg, subject);
        return;
    }

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
    const char *why = NULL;
    char why_text[1024];
    if (!pick_task_id(ds == JT_OK ? &run.job : NULL, ds == JT_OK ? NULL : &derr, msg, run.task_id,
                      sizeof run.task_id, &why, why_text, sizeof why_text)) {
        reject(j, msg, seq, why, why_text);
        jt_job_cleanup(&run.job);
        return;
    }
    if (ds == JT_OK && run.job.task_id == NULL && (run.job.task_id = strdup(run.task_id)) == NULL) {
        settle(j, msg, JT_SETTLE_NAK, JT_REQUEUE_DELAY_MS, run.task_id);
        jt_job_cleanup(&run.job);
        return;
    }
    jt_runner_slot_begin(&j->slot, run.task_id, msg);
    jt_log(JT_LOG_INFO, run.task_id, "job picked (delivery %llu)",
           (unsigned long long)run.delivered);

    jt_settle_t how;
    jt_error_t err;
    bool final = false;
    run.requeue_delay_ms = JT_REQUEUE_BUS_DELAY_MS;
    if (jt_report_begin_retry(&run.report, j->ctx.bus, run.task_id, j->worker_id,
                              ds == JT_OK ? &run.job : NULL, &j->retry, &final, &err) != JT_OK) {
        jt_log(JT_LOG_WARN, run.task_id, "task state unreadable (%s); job handed back for %d ms",
               err.message, run.requeue_delay_ms);
        how = JT_SETTLE_NAK;
    } else if (final) {
        if (run.delivered <= 1)
            replay_final(j, run.task_id);
        else
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
        settle(j, msg, how, run.requeue_delay_ms, run.task_id);
    jt_runner_slot_end(&j->slot);
    jt_report_cleanup(&run.report);
    jt_job_cleanup(&run.job);
}

static void settle_requeue(jt_job_consumer_t *j, jt_job_execution_t *run, natsMsg *msg)
{
    jt_error_t err;
    const char *why = run->requeue_why[0] ? run->requeue_why : "interrupted";
    if (run->report.ended_elsewhere) { /* another delivery stored its end: nothing to retry */
        jt_log(JT_LOG_INFO, run->task_id, "task ended elsewhere; acking");
        settle(j, msg, JT_SETTLE_ACK, 0, run->task_id);
        return;
    }
    if (run->delivered >= JT_JOBS_MAX_DELIVER) {
        jt_log(JT_LOG_WARN, run->task_id, "last allowed delivery failed: %s", why);
        char message[700];
        snprintf(message, sizeof message, "the job failed on its last allowed delivery (%d): %s",
                 JT_JOBS_MAX_DELIVER, why);
        if (jt_report_final(&run->report, JT_TASK_FAILED, NULL,
                            run->requeue_type[0] ? run->requeue_type : "infrastructure", message,
                            &err) == JT_OK) {
            settle(j, msg, JT_SETTLE_ACK, 0, run->task_id);
            return;
        }
        jt_log(JT_LOG_ERROR, run->task_id, "cannot store the failure either: %s", err.message);
    } else {
        jt_log(JT_LOG_INFO, run->task_id, "job handed back for another attempt in %d ms: %s",
               run->requeue_delay_ms, why);
        if (!run->report.ended_elsewhere)
            jt_report_progress(&run->report, JT_TASK_QUEUED, "queued", 0, 0,
                               run->job.energy_measurement_trials, NAN, &err);
    }
    settle(j, msg, JT_SETTLE_NAK, run->requeue_delay_ms, run->task_id);
}

/* A single nats-server killed with SIGKILL can come back with jobs in the work queue whose
 * acknowledgement it kept but whose deletion it lost: they sit below the consumer's ack floor,
 * where nothing delivers them again ("pending" forever in `jouletrace-broker status`).
 * Everything at or below the ack floor is acknowledged by definition: remove what is left
 * there, at most SWEEP_MAX_SEQS sequences a time. */
static void sweep_acked_leftovers(jt_job_consumer_t *j)
{
    jsCtx *js = j->ctx.bus->js;
    jsStreamInfo *si = NULL;
    jsConsumerInfo *ci = NULL;
    if (js_GetStreamInfo(&si, js, JT_STREAM_JOBS, NULL, NULL) != NATS_OK)
        return;
    uint64_t first = si->State.FirstSeq, msgs = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    if (msgs == 0 ||
        js_GetConsumerInfo(&ci, js, JT_STREAM_JOBS, JT_CONSUMER_WORKERS, NULL, NULL) != NATS_OK)
        return;
    uint64_t floor = ci->AckFloor.Stream;
    jsConsumerInfo_Destroy(ci);
    int removed = 0;
    for (uint64_t seq = first; seq <= floor && seq < first + SWEEP_MAX_SEQS; seq++)
        removed += js_DeleteMsg(js, JT_STREAM_JOBS, seq, NULL, NULL) == NATS_OK;
    if (removed > 0)
        jt_log_warn("removed %d acknowledged job(s) that were back in the queue at or below the "
                    "ack floor %llu (a broker restart lost their deletion)",
                    removed, (unsigned long long)floor);
}

static void *job_main(void *arg)
{
    jt_job_consumer_t *j = arg;
    long pause_ms = 0; /* back-off after fetch errors, 0 while fetching works */
    double failing_since = 0, next_log = 0, next_sweep = 0;
    while (!jt_runner_slot_stopping(&j->slot)) {
        natsMsgList list = {0};
        jsErrCode jerr = 0;
        natsStatus s = natsSubscription_Fetch(&list, j->jobs, 1, FETCH_TIMEOUT_MS, &jerr);
        if (s == NATS_TIMEOUT) { /* empty queue */
            if (jt_clock_now() >= next_sweep) {
                sweep_acked_leftovers(j);
                next_sweep = jt_clock_now() + SWEEP_EVERY_S;
            }
            continue;
        }
        if (s != NATS_OK) {
            char why[256];
            double now = jt_clock_now();
            pause_ms = pause_ms == 0 ? 250 : pause_ms * 2;
            if (pause_ms > FETCH_ERROR_PAUSE_MAX_MS)
                pause_ms = FETCH_ERROR_PAUSE_MAX_MS;
            if (failing_since == 0)
                failing_since = now;
            if (now >= next_log) {
                jt_log_warn("fetching jobs failed for %.1f s: %s (jerr %d); retrying every %ld ms",
                            now - failing_since, jt_nats_describe(s, why, sizeof why), (int)jerr,
                            pause_ms);
                next_log = now + FETCH_ERROR_LOG_EVERY_S;
            }
            jt_clock_sleep((double)pause_ms / 1000.0);
            continue;
        }
        if (failing_since != 0)
            jt_log_info("fetching jobs works again after %.1f s", jt_clock_now() - failing_since);
        pause_ms = 0;
        failing_since = next_log = 0;
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
        if (jt_runner_slot_current(&j->slot, current, sizeof current) && strcmp(id, current) == 0) {
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
    jt_subscription_retire(j->ctx.bus->nc, j->jobs);
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
    j->retry = (jt_retry_t){.patience_ms = JOB_BUS_PATIENCE_MS,
                            .stop = slot_stopping,
                            .ctx = &j->slot,
                            .grace_ms = JOB_BUS_STOP_GRACE_MS};
    j->ctx = (jt_job_context_t){.cfg = &j->cfg,
                                .bus = o->bus,
                                .ms = o->ms,
                                .not_measuring_why = j->not_measuring_why,
                                .lease = o->lease,
                                .worker_id = j->worker_id,
                                .slot = &j->slot,
                                .retry = &j->retry};
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
    /* The consumer's replicas may be electing a leader (a cluster just restarted): wait. */
    const jt_retry_t bind_policy = {.patience_ms = JT_QUORUM_PATIENCE_S * 1000};
    jt_backoff_t b;
    jt_backoff_init(&b, &bind_policy);
    natsStatus s;
    while ((s = js_PullSubscribe(&j->jobs, o->bus->js, JT_SUBJECT_JOBS_ALL, JT_CONSUMER_WORKERS,
                                 NULL, &so, &jerr)) != NATS_OK &&
           jt_nats_temporary(s, jerr)) {
        if (b.attempts == 0)
            jt_log_warn("cannot bind consumer %s yet: %s (jerr %d); retrying with back-off for "
                        "up to %d s",
                        JT_CONSUMER_WORKERS, jt_nats_describe(s, why, sizeof why), (int)jerr,
                        JT_QUORUM_PATIENCE_S);
        if (!jt_backoff_wait(&b))
            break;
        jerr = 0;
    }
    if (s == NATS_OK && b.attempts > 0)
        jt_log_info("consumer %s bound after %.1f s", JT_CONSUMER_WORKERS, jt_backoff_elapsed(&b));
    if (s != NATS_OK) {
        jt_status_t st =
            jt_error_set(err, jt_nats_status(s), JT_CONSUMER_WORKERS,
                         "cannot bind consumer %s of stream %s: %s (jerr %d)", JT_CONSUMER_WORKERS,
                         JT_STREAM_JOBS, jt_nats_describe(s, why, sizeof why), (int)jerr);
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
        jt_subscription_retire(o->bus->nc, j->cancels);
        free_consumer(j);
        return st;
    }
    if (pthread_create(&j->thread, NULL, job_main, j) != 0) {
        jt_subscription_retire(o->bus->nc, j->cancels);
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
    jt_subscription_retire(j->ctx.bus->nc, j->cancels);
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
