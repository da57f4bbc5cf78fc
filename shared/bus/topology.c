/* topology.c -- the JetStream objects every JouleTrace program ensures: jobs stream, consumer, KV buckets.
 *
 * Runs on the caller's thread; idempotent, so every program may call it at start.
 */
#include "topology.h"

#include <stdio.h>
#include <string.h>

#include "bus_names.h"
#include "nats_status.h"

/* The KV buckets of bus_names.h with their bucket-level TTL. */
static const struct {
    const char *bucket;
    int64_t ttl_ns;
    const char *description;
} kv_buckets[] = {
    {JT_KV_TASKS, JT_TASKS_TTL_NS, "JouleTrace: latest record of every task"},
    {JT_KV_LEASES, JT_LEASE_TTL_NS, "JouleTrace: exclusive lease of each measurement domain"},
    {JT_KV_WORKERS, JT_HEARTBEAT_TTL_NS, "JouleTrace: worker heartbeats"},
    {JT_KV_CANCELS, JT_CANCELS_TTL_NS, "JouleTrace: cancellation requests"},
    {JT_KV_IDEMPOTENCY, JT_IDEMPOTENCY_TTL_NS, "JouleTrace: Idempotency-Key to task id"},
};
#define KV_BUCKET_COUNT (sizeof kv_buckets / sizeof kv_buckets[0])

void jt_topology_opts_init(jt_topology_opts_t *o)
{
    o->max_ack_pending = 64;
    o->max_pending_jobs = 100000;
}

/* Adds or verifies a stream; on a differing existing one, updates it. */
static jt_status_t ensure_stream(jsCtx *js, jsStreamConfig *sc, jt_error_t *err)
{
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    char why[256];

    natsStatus s = js_AddStream(&si, js, sc, NULL, &jerr);
    if (s != NATS_OK && jerr == JSStreamNameExistErr) {
        s = js_UpdateStream(&si, js, sc, NULL, &jerr);
        if (s != NATS_OK) {
            jt_nats_describe(s, why, sizeof why);
            return jt_error_set(err, JT_ERR_CONFIG, sc->Name,
                                "stream %s exists with a configuration NATS cannot change to "
                                "JouleTrace's (%s); delete it or fix it by hand",
                                sc->Name, why);
        }
    }
    jsStreamInfo_Destroy(si);
    if (s == NATS_OK)
        return JT_OK;
    jt_nats_describe(s, why, sizeof why);
    if (jerr == JSNotEnabledErr || jerr == JSNotEnabledForAccountErr || s == NATS_NO_RESPONDERS)
        return jt_error_set(err, JT_ERR_CONFIG, sc->Name,
                            "cannot create stream %s: JetStream is not enabled on this server "
                            "(start nats-server with -js or a jetstream block) (%s)",
                            sc->Name, why);
    return jt_error_set(err, jt_nats_status(s), sc->Name, "cannot create stream %s: %s%s", sc->Name,
                        why,
                        s == NATS_TIMEOUT ? " (no answer: is this user allowed the JetStream "
                                            "API, see broker/nats-server-auth.conf?)"
                                          : "");
}

static jt_status_t ensure_jobs_stream(jsCtx *js, const jt_topology_opts_t *o, jt_error_t *err)
{
    const char *subjects[] = {JT_SUBJECT_JOBS};
    jsStreamConfig sc;

    jsStreamConfig_Init(&sc);
    sc.Name = JT_STREAM_JOBS;
    sc.Description = "JouleTrace measurement jobs (work queue, msgpack, Nats-Msg-Id = task id)";
    sc.Subjects = subjects;
    sc.SubjectsLen = 1;
    sc.Retention = js_WorkQueuePolicy;
    sc.Storage = js_FileStorage;
    sc.MaxMsgs = o->max_pending_jobs;
    /* A full queue refuses new jobs; discarding old ones would lose accepted work. */
    sc.Discard = js_DiscardNew;
    sc.MaxMsgSize = JT_JOBS_MAX_MSG_BYTES;
    sc.Duplicates = JT_JOBS_DUPLICATE_WINDOW_NS;
    sc.Replicas = 1;
    return ensure_stream(js, &sc, err);
}

static jt_status_t ensure_consumer(jsCtx *js, const jt_topology_opts_t *o, jt_error_t *err)
{
    jsConsumerConfig cc;
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    char why[256];

    jsConsumerConfig_Init(&cc);
    cc.Durable = JT_CONSUMER_WORKERS;
    cc.Description = "JouleTrace workers: one pull consumer shared by every worker";
    cc.DeliverPolicy = js_DeliverAll;
    cc.AckPolicy = js_AckExplicit;
    cc.AckWait = JT_JOBS_ACK_WAIT_NS;
    cc.MaxDeliver = JT_JOBS_MAX_DELIVER;
    cc.MaxAckPending = o->max_ack_pending;
    cc.FilterSubject = JT_SUBJECT_JOBS;
    cc.ReplayPolicy = js_ReplayInstant;

    /* nats-server 2.9 treats a durable create on an existing consumer as an
     * update: identical settings are a no-op, changeable ones are changed. */
    natsStatus s = js_AddConsumer(&ci, js, JT_STREAM_JOBS, &cc, NULL, &jerr);
    jsConsumerInfo_Destroy(ci);
    if (s == NATS_OK)
        return JT_OK;
    jt_nats_describe(s, why, sizeof why);
    if (jerr != 0)
        return jt_error_set(err, JT_ERR_CONFIG, JT_CONSUMER_WORKERS,
                            "consumer %s on stream %s exists with settings NATS cannot change "
                            "to JouleTrace's (%s, jerr %d); delete it and run init again",
                            JT_CONSUMER_WORKERS, JT_STREAM_JOBS, why, (int)jerr);
    return jt_error_set(err, jt_nats_status(s), JT_CONSUMER_WORKERS,
                        "cannot create consumer %s: %s", JT_CONSUMER_WORKERS, why);
}

/* js_CreateKeyValue accepts an identical bucket but refuses a differing one
 * ("Existing configuration is different"): then the bucket's stream is
 * updated in place (TTL, history), keeping what the server does not let change. */
static jt_status_t ensure_kv(jsCtx *js, const char *bucket, int64_t ttl_ns, const char *description,
                             jt_error_t *err)
{
    kvConfig kc;
    kvStore *kv = NULL;
    char why[256];
    char stream[128];

    kvConfig_Init(&kc);
    kc.Bucket = bucket;
    kc.Description = description;
    kc.History = 1;
    kc.TTL = ttl_ns;
    kc.StorageType = js_FileStorage;
    kc.Replicas = 1;
    natsStatus s = js_CreateKeyValue(&kv, js, &kc);
    kvStore_Destroy(kv);
    if (s == NATS_OK)
        return JT_OK;
    jt_nats_describe(s, why, sizeof why);
    if (s != NATS_ERR)
        return jt_error_set(err, jt_nats_status(s), bucket, "cannot create KV bucket %s: %s",
                            bucket, why);

    snprintf(stream, sizeof stream, "KV_%s", bucket);
    jsStreamInfo *si = NULL;
    if (js_GetStreamInfo(&si, js, stream, NULL, NULL) != NATS_OK) /* not there: a real failure */
        return jt_error_set(err, JT_ERR_IO, bucket, "cannot create KV bucket %s: %s", bucket, why);
    jsStreamConfig *sc = si->Config;
    const char *owned_description = sc->Description; /* freed by jsStreamInfo_Destroy */
    sc->Description = description;
    sc->MaxAge = ttl_ns;
    sc->MaxMsgsPerSubject = 1;
    if (sc->Duplicates > ttl_ns) /* the server wants Duplicates <= MaxAge */
        sc->Duplicates = ttl_ns;
    jsStreamInfo *updated = NULL;
    s = js_UpdateStream(&updated, js, sc, NULL, NULL);
    jsStreamInfo_Destroy(updated);
    sc->Description = owned_description;
    jsStreamInfo_Destroy(si);
    if (s == NATS_OK)
        return JT_OK;
    jt_nats_describe(s, why, sizeof why);
    return jt_error_set(err, JT_ERR_CONFIG, bucket,
                        "KV bucket %s exists with a configuration NATS cannot change to "
                        "JouleTrace's (%s); delete it or fix it by hand",
                        bucket, why);
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

    jt_status_t st = ensure_jobs_stream(js, o, err);
    if (st == JT_OK)
        st = ensure_consumer(js, o, err);
    for (size_t i = 0; st == JT_OK && i < KV_BUCKET_COUNT; i++)
        st = ensure_kv(js, kv_buckets[i].bucket, kv_buckets[i].ttl_ns, kv_buckets[i].description,
                       err);
    return st;
}
