/* topology.c -- the JetStream objects every program ensures: jobs stream, consumer, KV buckets.
 *
 * Runs on the caller's thread; idempotent, so every program may call it at start.
 */
#include "topology.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus_names.h"
#include "log.h"
#include "nats_status.h"
#include "retry.h"

#define QUORUM_LOG_EVERY_S 10.0 /* a line while waiting for a quorum, at most this often */

/* The KV buckets of bus_names.h with their bucket-level TTL. */
typedef struct {
    const char *bucket;
    int64_t ttl_ns;
    const char *description;
} kv_bucket_t;

static const kv_bucket_t kv_buckets[] = {
    {JT_KV_TASKS, JT_TASKS_TTL_NS, "JouleTrace: latest record of every task"},
    {JT_KV_LEASES, JT_LEASE_TTL_NS, "JouleTrace: exclusive lease of each measurement domain"},
    {JT_KV_WORKERS, JT_HEARTBEAT_TTL_NS, "JouleTrace: worker heartbeats"},
    {JT_KV_CANCELS, JT_CANCELS_TTL_NS, "JouleTrace: cancellation requests"},
    {JT_KV_IDEMPOTENCY, JT_IDEMPOTENCY_TTL_NS, "JouleTrace: Idempotency-Key to task id"},
    {JT_KV_BATCHES, JT_BATCHES_TTL_NS, "JouleTrace: batches (record, problem, code, blocks)"},
    {JT_KV_WEBHOOKS, JT_WEBHOOKS_TTL_NS, "JouleTrace: webhook delivery state"},
};
#define KV_BUCKET_COUNT (sizeof kv_buckets / sizeof kv_buckets[0])
#define STREAM_STEPS 4 /* jobs stream and consumer, webhooks stream and consumer */
#define STEP_COUNT (STREAM_STEPS + KV_BUCKET_COUNT)

void jt_topology_opts_init(jt_topology_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->max_ack_pending = 64;
    o->max_pending_jobs = 100000;
    o->replicas = 0;
    o->quorum_patience_s = JT_QUORUM_PATIENCE_S;
}

jt_status_t jt_topology_replicas(natsConnection *nc, int configured, int *out, char *how,
                                 size_t len, jt_error_t *err)
{
    char scratch[8];
    if (how == NULL || len == 0) {
        how = scratch;
        len = sizeof scratch;
    }
    if (configured > 0) {
        if (configured > JT_REPLICAS_MAX)
            return jt_error_set(err, JT_ERR_CONFIG, "replicas", "replicas must be 1..%d, got %d",
                                JT_REPLICAS_MAX, configured);
        *out = configured;
        snprintf(how, len, "configured");
        return JT_OK;
    }
    const char *env = getenv(JT_REPLICAS_ENV);
    if (env != NULL && env[0] != '\0') {
        char *end = NULL;
        errno = 0;
        long v = strtol(env, &end, 10);
        if (errno != 0 || end == env || *end != '\0' || v < 1 || v > JT_REPLICAS_MAX)
            return jt_error_set(err, JT_ERR_CONFIG, JT_REPLICAS_ENV,
                                "%s must be 1..%d, got '%.32s'", JT_REPLICAS_ENV, JT_REPLICAS_MAX,
                                env);
        *out = (int)v;
        snprintf(how, len, "%s", JT_REPLICAS_ENV);
        return JT_OK;
    }
    char **servers = NULL;
    int count = 0;
    if (nc != NULL && natsConnection_GetServers(nc, &servers, &count) == NATS_OK) {
        for (int i = 0; i < count; i++)
            free(servers[i]);
        free(servers);
    }
    *out = count < 1 ? 1 : count > JT_REPLICAS_MAX ? JT_REPLICAS_MAX : count;
    snprintf(how, len, "%d known server%s", count < 1 ? 1 : count, count > 1 ? "s" : "");
    return JT_OK;
}

/* The error of a step that failed while JetStream cannot answer: retried by the caller. */
static jt_status_t temporary_error(jt_error_t *err, natsStatus s, const char *what,
                                   const char *name, const char *why, bool *temporary)
{
    *temporary = true;
    return jt_error_set(err, s == NATS_TIMEOUT ? JT_ERR_TIMEOUT : JT_ERR_IO, name,
                        "JetStream cannot %s %s right now: %s (no quorum or no leader yet: "
                        "are a majority of the cluster's nodes up?)",
                        what, name, why);
}

/* After a failed update that raised the replica count: whether the cluster could not place
 * the new replicas now (too few peers up), so the update is retried with the old count. */
static bool placement_failed(jsErrCode jerr)
{
    return jerr == JSInsufficientResourcesErr || jerr == JSClusterNoPeersErr;
}

/* Update stream sc->Name to sc, keeping `existing` replicas when that is more; when the
 * cluster cannot place a raised count now, keeps the old count (logged). */
static natsStatus update_keeping_replicas(jsCtx *js, jsStreamConfig *sc, int64_t existing,
                                          jsErrCode *jerr)
{
    jsStreamInfo *si = NULL;
    int64_t wanted = sc->Replicas;
    if (existing > wanted)
        sc->Replicas = existing; /* never scale a stream down */
    *jerr = 0;
    natsStatus s = js_UpdateStream(&si, js, sc, NULL, jerr);
    jsStreamInfo_Destroy(si);
    if (s != NATS_OK && existing < sc->Replicas && placement_failed(*jerr)) {
        char why[256];
        jt_log_warn("cannot scale %s from %lld to %lld replicas now (%s); kept %lld, the next "
                    "start tries again",
                    sc->Name, (long long)existing, (long long)sc->Replicas,
                    jt_nats_describe(s, why, sizeof why), (long long)existing);
        sc->Replicas = existing;
        si = NULL;
        *jerr = 0;
        s = js_UpdateStream(&si, js, sc, NULL, jerr);
        jsStreamInfo_Destroy(si);
    } else if (s == NATS_OK && existing > wanted) {
        jt_log_info("%s keeps its %lld replicas (asked for %lld: streams are never scaled down)",
                    sc->Name, (long long)existing, (long long)wanted);
    } else if (s == NATS_OK && existing < sc->Replicas) {
        jt_log_info("%s scaled from %lld to %lld replicas", sc->Name, (long long)existing,
                    (long long)sc->Replicas);
    }
    return s;
}

/* Adds or verifies a stream; on a differing existing one, updates it (larger replicas kept). */
static jt_status_t ensure_stream(jsCtx *js, jsStreamConfig *sc, bool *temporary, jt_error_t *err)
{
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    char why[256];

    natsStatus s = js_AddStream(&si, js, sc, NULL, &jerr);
    jsStreamInfo_Destroy(si);
    if (s != NATS_OK && jerr == JSStreamNameExistErr) {
        jsStreamInfo *cur = NULL;
        jerr = 0;
        s = js_GetStreamInfo(&cur, js, sc->Name, NULL, &jerr);
        if (s == NATS_OK) {
            int64_t existing = cur->Config != NULL ? cur->Config->Replicas : 1;
            jsStreamInfo_Destroy(cur);
            s = update_keeping_replicas(js, sc, existing, &jerr);
            if (s != NATS_OK && !jt_nats_temporary(s, jerr)) {
                jt_nats_describe(s, why, sizeof why);
                return jt_error_set(err, JT_ERR_CONFIG, sc->Name,
                                    "stream %s exists with a configuration NATS cannot change to "
                                    "JouleTrace's (%s); delete it or fix it by hand",
                                    sc->Name, why);
            }
        }
    }
    if (s == NATS_OK)
        return JT_OK;
    jt_nats_describe(s, why, sizeof why);
    if (jerr == JSNotEnabledErr || jerr == JSNotEnabledForAccountErr || s == NATS_NO_RESPONDERS)
        return jt_error_set(err, JT_ERR_CONFIG, sc->Name,
                            "cannot create stream %s: JetStream is not enabled on this server "
                            "(start nats-server with -js or a jetstream block) (%s)",
                            sc->Name, why);
    if (jerr == JSStreamReplicasNotSupportedErr)
        return jt_error_set(err, JT_ERR_CONFIG, sc->Name,
                            "cannot create stream %s with %lld replicas: this nats-server is not "
                            "clustered (set %s=1) (%s)",
                            sc->Name, (long long)sc->Replicas, JT_REPLICAS_ENV, why);
    if (jt_nats_temporary(s, jerr) && s != NATS_NO_RESPONDERS)
        return temporary_error(err, s, "create stream", sc->Name, why, temporary);
    return jt_error_set(err, jt_nats_status(s), sc->Name, "cannot create stream %s: %s%s", sc->Name,
                        why,
                        s == NATS_TIMEOUT ? " (no answer: is this user allowed the JetStream "
                                            "API, see broker/nats-server-auth.conf?)"
                                          : "");
}

static jt_status_t ensure_jobs_stream(jsCtx *js, const jt_topology_opts_t *o, int replicas,
                                      bool *temporary, jt_error_t *err)
{
    const char *subjects[] = {JT_SUBJECT_JOBS, JT_SUBJECT_BATCHES, JT_SUBJECT_BATCH_GATE,
                              JT_SUBJECT_BATCH_BLOCKS};
    jsStreamConfig sc;

    jsStreamConfig_Init(&sc);
    sc.Name = JT_STREAM_JOBS;
    sc.Description = "JouleTrace measurement jobs and batches (work queue, msgpack)";
    sc.Subjects = subjects;
    sc.SubjectsLen = sizeof subjects / sizeof subjects[0];
    sc.Retention = js_WorkQueuePolicy;
    sc.Storage = js_FileStorage;
    sc.MaxMsgs = o->max_pending_jobs;
    /* A full queue refuses new jobs; discarding old ones would lose accepted work. */
    sc.Discard = js_DiscardNew;
    sc.MaxMsgSize = JT_JOBS_MAX_MSG_BYTES;
    sc.Duplicates = JT_JOBS_DUPLICATE_WINDOW_NS;
    sc.Replicas = replicas;
    return ensure_stream(js, &sc, temporary, err);
}

/* The webhook deliveries: one message per event to deliver (docs/api.md, "Webhooks"). */
static jt_status_t ensure_webhooks_stream(jsCtx *js, int replicas, bool *temporary,
                                          jt_error_t *err)
{
    const char *subjects[] = {JT_SUBJECT_WEBHOOKS};
    jsStreamConfig sc;

    jsStreamConfig_Init(&sc);
    sc.Name = JT_STREAM_WEBHOOKS;
    sc.Description = "JouleTrace webhook deliveries (work queue, msgpack)";
    sc.Subjects = subjects;
    sc.SubjectsLen = 1;
    sc.Retention = js_WorkQueuePolicy;
    sc.Storage = js_FileStorage;
    sc.MaxMsgs = 100000;
    sc.Discard = js_DiscardNew;
    sc.MaxMsgSize = 65536;
    sc.MaxAge = JT_WEBHOOKS_TTL_NS;
    sc.Duplicates = JT_JOBS_DUPLICATE_WINDOW_NS;
    sc.Replicas = replicas;
    return ensure_stream(js, &sc, temporary, err);
}

/* A durable pull consumer `name` of stream, shared by every program that reads it. */
static jt_status_t ensure_consumer(jsCtx *js, const char *stream, const char *name,
                                   const char *description, const char *filter,
                                   int max_ack_pending, int max_deliver, bool *temporary,
                                   jt_error_t *err)
{
    jsConsumerConfig cc;
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    char why[256];

    jsConsumerConfig_Init(&cc);
    cc.Durable = name;
    cc.Description = description;
    cc.DeliverPolicy = js_DeliverAll;
    cc.AckPolicy = js_AckExplicit;
    cc.AckWait = JT_JOBS_ACK_WAIT_NS;
    cc.MaxDeliver = max_deliver;
    cc.MaxAckPending = max_ack_pending;
    cc.FilterSubject = filter;
    cc.ReplayPolicy = js_ReplayInstant;
    /* Replicas 0: as many as the stream has. */

    /* nats-server 2.9 treats a durable create on an existing consumer as an
     * update: identical settings are a no-op, changeable ones are changed. */
    natsStatus s = js_AddConsumer(&ci, js, stream, &cc, NULL, &jerr);
    jsConsumerInfo_Destroy(ci);
    if (s == NATS_OK)
        return JT_OK;
    jt_nats_describe(s, why, sizeof why);
    if (jt_nats_temporary(s, jerr))
        return temporary_error(err, s, "create consumer", name, why, temporary);
    if (jerr != 0)
        return jt_error_set(err, JT_ERR_CONFIG, name,
                            "consumer %s on stream %s exists with settings NATS cannot change "
                            "to JouleTrace's (%s, jerr %d); delete it and run init again",
                            name, stream, why, (int)jerr);
    return jt_error_set(err, jt_nats_status(s), name, "cannot create consumer %s: %s", name, why);
}

/* js_CreateKeyValue accepts an identical bucket but refuses a differing one
 * ("Existing configuration is different"): then the bucket's stream is
 * updated in place (TTL, history, more replicas), keeping what the server does not let
 * change and never lowering its replica count. */
static jt_status_t ensure_kv(jsCtx *js, const kv_bucket_t *b, int replicas, bool *temporary,
                             jt_error_t *err)
{
    kvConfig kc;
    kvStore *kv = NULL;
    char why[256];
    char stream[128];

    kvConfig_Init(&kc);
    kc.Bucket = b->bucket;
    kc.Description = b->description;
    kc.History = 1;
    kc.TTL = b->ttl_ns;
    kc.StorageType = js_FileStorage;
    kc.Replicas = replicas;
    kc.MaxValueSize = JT_KV_MAX_VALUE_BYTES;
    natsStatus s = js_CreateKeyValue(&kv, js, &kc);
    kvStore_Destroy(kv);
    if (s == NATS_OK)
        return JT_OK;
    jt_nats_describe(s, why, sizeof why);
    if (s != NATS_ERR && !jt_nats_temporary(s, 0))
        return jt_error_set(err, jt_nats_status(s), b->bucket, "cannot create KV bucket %s: %s",
                            b->bucket, why);

    snprintf(stream, sizeof stream, "KV_%s", b->bucket);
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus gs = js_GetStreamInfo(&si, js, stream, NULL, &jerr);
    if (gs != NATS_OK) {
        /* Absent after a refused create: the cluster could not make it now (no quorum, too
         * few peers for the replicas), or a real failure. */
        if (jt_nats_temporary(gs, jerr) || jt_nats_temporary(s, 0) ||
            (jerr == JSStreamNotFoundErr && replicas > 1))
            return temporary_error(err, jt_nats_temporary(gs, jerr) ? gs : s, "create KV bucket",
                                   b->bucket, why, temporary);
        return jt_error_set(err, JT_ERR_IO, b->bucket, "cannot create KV bucket %s: %s", b->bucket,
                            why);
    }
    jsStreamConfig *sc = si->Config;
    const char *owned_description = sc->Description; /* freed by jsStreamInfo_Destroy */
    int64_t existing = sc->Replicas;
    sc->Description = b->description;
    sc->MaxAge = b->ttl_ns;
    sc->MaxMsgsPerSubject = 1;
    sc->Replicas = replicas;
    if (sc->Duplicates > b->ttl_ns) /* the server wants Duplicates <= MaxAge */
        sc->Duplicates = b->ttl_ns;
    s = update_keeping_replicas(js, sc, existing, &jerr);
    sc->Description = owned_description;
    jsStreamInfo_Destroy(si);
    if (s == NATS_OK)
        return JT_OK;
    jt_nats_describe(s, why, sizeof why);
    if (jt_nats_temporary(s, jerr))
        return temporary_error(err, s, "update KV bucket", b->bucket, why, temporary);
    return jt_error_set(err, JT_ERR_CONFIG, b->bucket,
                        "KV bucket %s exists with a configuration NATS cannot change to "
                        "JouleTrace's (%s); delete it or fix it by hand",
                        b->bucket, why);
}

/* Step i of the topology: the jobs stream and its consumer, the webhooks stream and its
 * consumer, then the buckets. */
static jt_status_t run_step(jsCtx *js, const jt_topology_opts_t *o, size_t i, int replicas,
                            bool *temporary, jt_error_t *err)
{
    *temporary = false;
    switch (i) {
    case 0:
        return ensure_jobs_stream(js, o, replicas, temporary, err);
    case 1:
        return ensure_consumer(js, JT_STREAM_JOBS, JT_CONSUMER_WORKERS,
                               "JouleTrace workers: one pull consumer shared by every worker",
                               JT_SUBJECT_JOBS_ALL, o->max_ack_pending, JT_JOBS_MAX_DELIVER,
                               temporary, err);
    case 2:
        return ensure_webhooks_stream(js, replicas, temporary, err);
    case 3:
        return ensure_consumer(js, JT_STREAM_WEBHOOKS, JT_CONSUMER_WEBHOOKS,
                               "JouleTrace gateways: webhook deliveries", JT_SUBJECT_WEBHOOKS,
                               1000, JT_WEBHOOK_MAX_DELIVER, temporary, err);
    default:
        return ensure_kv(js, &kv_buckets[i - STREAM_STEPS], replicas, temporary, err);
    }
}

jt_status_t jt_topology_ensure(jsCtx *js, const jt_topology_opts_t *o, jt_error_t *err)
{
    jt_topology_opts_t defaults;
    if (o == NULL) {
        jt_topology_opts_init(&defaults);
        o = &defaults;
    }
    if (js == NULL)
        return jt_error_set(err, JT_ERR_INVALID, "js", "no JetStream context");
    if (o->max_ack_pending < 1)
        return jt_error_set(err, JT_ERR_CONFIG, "max_ack_pending",
                            "max_ack_pending must be at least 1, got %d", o->max_ack_pending);
    if (o->max_pending_jobs < 1)
        return jt_error_set(err, JT_ERR_CONFIG, "max_pending_jobs",
                            "max_pending_jobs must be at least 1, got %lld",
                            (long long)o->max_pending_jobs);
    if (o->replicas < 0 || o->replicas > JT_REPLICAS_MAX)
        return jt_error_set(err, JT_ERR_CONFIG, "replicas", "replicas must be 1..%d, got %d",
                            JT_REPLICAS_MAX, o->replicas);
    int replicas = o->replicas > 0 ? o->replicas : 1;
    jt_retry_t policy = {.patience_ms = o->quorum_patience_s > 0 ? o->quorum_patience_s * 1000 : 0,
                         .stop = o->stop,
                         .ctx = o->stop_ctx,
                         .grace_ms = 0};

    for (size_t i = 0; i < STEP_COUNT; i++) {
        jt_backoff_t b;
        double next_log = 0;
        jt_backoff_init(&b, &policy);
        for (;;) {
            bool temporary = false;
            jt_status_t st = run_step(js, o, i, replicas, &temporary, err);
            if (st == JT_OK) {
                if (b.attempts > 0)
                    jt_log_info("JetStream answered after %.1f s of waiting for a quorum",
                                jt_backoff_elapsed(&b));
                break;
            }
            if (!temporary)
                return st;
            double waited = jt_backoff_elapsed(&b);
            if (waited >= next_log) {
                jt_log_warn("%s; retrying with back-off for up to %d s (waited %.1f s)",
                            err->message, o->quorum_patience_s, waited);
                next_log = waited + QUORUM_LOG_EVERY_S;
            }
            if (!jt_backoff_wait(&b))
                return st;
        }
    }
    return JT_OK;
}
