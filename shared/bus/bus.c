/* bus.c -- the NATS connection of a JouleTrace program and the idempotent JetStream topology.
 *
 * Runs on the caller's thread; the connection callbacks at the bottom run on
 * nats.c threads and only log.
 */
#include "bus.h"

#include <stdio.h>
#include <string.h>

#include "bus_names.h"
#include "log.h"
#include "task_state.h"

#define CONNECT_TIMEOUT_MS 2000 /* one TCP connect + INFO/CONNECT handshake */
#define RECONNECT_WAIT_MS 250
#define API_WAIT_MS 5000 /* JetStream API requests and publish acks */

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
    o->storage_dir = NULL;
}

/* "status text: last error text" of the calling thread's last nats.c error. */
static void nats_describe(natsStatus s, char *buf, size_t len)
{
    natsStatus last_status = NATS_OK;
    const char *last = nats_GetLastError(&last_status);
    const char *text = natsStatus_GetText(s);
    if (last != NULL && last[0] == '(' && strstr(last, "): ") != NULL)
        last = strstr(last, "): ") + 3; /* drop nats.c's "(file.c:line): " */
    /* The thread's last error text belongs to this failure only if the codes agree. */
    if (last != NULL && last_status == s && last[0] != '\0' && strcmp(last, text) != 0)
        snprintf(buf, len, "%s: %s", text, last);
    else
        snprintf(buf, len, "%s", text);
}

static jt_status_t status_of(natsStatus s)
{
    switch (s) {
    case NATS_TIMEOUT:
        return JT_ERR_TIMEOUT;
    case NATS_NO_MEMORY:
        return JT_ERR_NOMEM;
    default:
        return JT_ERR_IO;
    }
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
            nats_describe(s, why, sizeof why);
            return jt_error_set(err, JT_ERR_CONFIG, sc->Name,
                                "stream %s exists with a configuration NATS cannot change to "
                                "JouleTrace's (%s); delete it or fix it by hand",
                                sc->Name, why);
        }
    }
    jsStreamInfo_Destroy(si);
    if (s == NATS_OK)
        return JT_OK;
    nats_describe(s, why, sizeof why);
    if (jerr == JSNotEnabledErr || jerr == JSNotEnabledForAccountErr || s == NATS_NO_RESPONDERS)
        return jt_error_set(err, JT_ERR_CONFIG, sc->Name,
                            "cannot create stream %s: JetStream is not enabled on this server "
                            "(start nats-server with -js or a jetstream block) (%s)",
                            sc->Name, why);
    return jt_error_set(err, status_of(s), sc->Name, "cannot create stream %s: %s%s", sc->Name, why,
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
    nats_describe(s, why, sizeof why);
    if (jerr != 0)
        return jt_error_set(err, JT_ERR_CONFIG, JT_CONSUMER_WORKERS,
                            "consumer %s on stream %s exists with settings NATS cannot change "
                            "to JouleTrace's (%s, jerr %d); delete it and run init again",
                            JT_CONSUMER_WORKERS, JT_STREAM_JOBS, why, (int)jerr);
    return jt_error_set(err, status_of(s), JT_CONSUMER_WORKERS, "cannot create consumer %s: %s",
                        JT_CONSUMER_WORKERS, why);
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
    nats_describe(s, why, sizeof why);
    if (s != NATS_ERR)
        return jt_error_set(err, status_of(s), bucket, "cannot create KV bucket %s: %s", bucket,
                            why);

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
    nats_describe(s, why, sizeof why);
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

/* Copies url into out with every "user:password@" replaced by "***@", so that
 * error messages and logs never show credentials. */
static void redact_url(const char *url, char *out, size_t len)
{
    size_t o = 0;
    if (len == 0)
        return;
    for (const char *p = url; *p != '\0' && o + 1 < len;) {
        const char *scheme = strstr(p, "://");
        const char *comma = strchr(p, ',');
        if (scheme != NULL && (comma == NULL || scheme < comma)) {
            const char *host = scheme + 3;
            size_t auth = strcspn(host, "@,/");
            for (const char *q = p; q < host && o + 1 < len; q++)
                out[o++] = *q;
            if (host[auth] == '@') {
                for (const char *q = "***@"; *q != '\0' && o + 1 < len; q++)
                    out[o++] = *q;
                host += auth + 1;
            }
            p = host;
        }
        const char *end = strchr(p, ',');
        if (end == NULL)
            end = p + strlen(p);
        else
            end++;
        while (p < end && o + 1 < len)
            out[o++] = *p++;
    }
    out[o] = '\0';
}

static void on_disconnected(natsConnection *nc, void *closure)
{
    (void)closure;
    if (!natsConnection_IsClosed(nc)) /* jt_bus_close also passes through here */
        jt_log_warn("NATS connection lost; reconnecting");
}

static void on_reconnected(natsConnection *nc, void *closure)
{
    char url[256] = "";
    char shown[256];
    (void)closure;
    natsConnection_GetConnectedUrl(nc, url, sizeof url);
    redact_url(url, shown, sizeof shown);
    jt_log_info("NATS reconnected to %s", shown);
}

/* Permission violations, slow consumers: the only way nats.c reports them. */
static void on_async_error(natsConnection *nc, natsSubscription *sub, natsStatus s, void *closure)
{
    const char *text = NULL;
    (void)closure;
    if (natsConnection_GetLastError(nc, &text) != s || text == NULL || text[0] == '\0')
        text = natsStatus_GetText(s);
    jt_log_warn("NATS asynchronous error%s%s: %s", sub ? " on " : "",
                sub ? natsSubscription_GetSubject(sub) : "", text);
}

#define MAX_SERVERS 16

/* url may list several servers separated by commas (a cluster); nats.c wants
 * them one by one. */
static natsStatus set_servers(natsOptions *opts, const char *url)
{
    char copy[1024];
    const char *servers[MAX_SERVERS];
    int n = 0;
    if (snprintf(copy, sizeof copy, "%s", url) >= (int)sizeof copy)
        return NATS_INVALID_ARG;
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        tok += strspn(tok, " \t");
        size_t len = strlen(tok);
        while (len > 0 && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
            tok[--len] = '\0';
        if (len == 0)
            continue;
        if (n == MAX_SERVERS)
            return NATS_INVALID_ARG;
        servers[n++] = tok;
    }
    if (n == 0)
        return NATS_INVALID_ARG;
    return natsOptions_SetServers(opts, servers, n);
}

static natsStatus make_options(natsOptions **out, const char *url, const char *name)
{
    natsOptions *opts = NULL;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK)
        s = set_servers(opts, url);
    if (s == NATS_OK && name != NULL)
        s = natsOptions_SetName(opts, name);
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(opts, CONNECT_TIMEOUT_MS);
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(opts, -1);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectWait(opts, RECONNECT_WAIT_MS);
    if (s == NATS_OK)
        s = natsOptions_SetCustomInboxPrefix(opts, JT_INBOX_PREFIX);
    if (s == NATS_OK)
        s = natsOptions_SetDisconnectedCB(opts, on_disconnected, NULL);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectedCB(opts, on_reconnected, NULL);
    if (s == NATS_OK)
        s = natsOptions_SetErrorHandler(opts, on_async_error, NULL);
    if (s == NATS_OK)
        *out = opts;
    else
        natsOptions_Destroy(opts);
    return s;
}

jt_status_t jt_bus_connect(const char *url, const char *name, const jt_topology_opts_t *o,
                           jt_bus_t *bus, jt_error_t *err)
{
    jt_bus_t b;
    natsOptions *opts = NULL;
    jsOptions jo;
    char shown[512];
    char why[256];
    jt_status_t st = JT_OK;
    kvStore **slots[KV_BUCKET_COUNT] = {&b.tasks, &b.leases, &b.workers, &b.cancels,
                                        &b.idempotency};

    memset(&b, 0, sizeof b);
    if (bus == NULL)
        return jt_error_set(err, JT_ERR_INVALID, "bus", "no bus to fill");
    memset(bus, 0, sizeof *bus);
    if (url == NULL || url[0] == '\0')
        return jt_error_set(err, JT_ERR_CONFIG, "JOULETRACE_NATS_URL", "no NATS URL given");
    redact_url(url, shown, sizeof shown);

    natsStatus s = make_options(&opts, url, name);
    if (s != NATS_OK) {
        nats_describe(s, why, sizeof why);
        st = jt_error_set(err, JT_ERR_CONFIG, "JOULETRACE_NATS_URL", "bad NATS URL %s: %s", shown,
                          why);
        goto fail;
    }
    s = natsConnection_Connect(&b.nc, opts);
    if (s != NATS_OK) {
        nats_describe(s, why, sizeof why);
        st =
            jt_error_set(err, s == NATS_TIMEOUT ? JT_ERR_TIMEOUT : JT_ERR_IO, "JOULETRACE_NATS_URL",
                         "cannot connect to NATS at %s: %s (is nats-server running there with "
                         "JetStream, e.g. `nats-server -js`, and are the credentials right?)",
                         shown, why);
        goto fail;
    }
    jsOptions_Init(&jo);
    jo.Wait = API_WAIT_MS;
    s = natsConnection_JetStream(&b.js, b.nc, &jo);
    if (s != NATS_OK) {
        nats_describe(s, why, sizeof why);
        st = jt_error_set(err, status_of(s), "", "cannot create a JetStream context: %s", why);
        goto fail;
    }
    st = jt_topology_ensure(b.js, o, err);
    if (st != JT_OK)
        goto fail;

    for (size_t i = 0; i < KV_BUCKET_COUNT; i++) {
        s = js_KeyValue(slots[i], b.js, kv_buckets[i].bucket);
        if (s != NATS_OK) {
            nats_describe(s, why, sizeof why);
            st = jt_error_set(err, status_of(s), kv_buckets[i].bucket,
                              "cannot bind KV bucket %s: %s", kv_buckets[i].bucket, why);
            goto fail;
        }
    }
    natsOptions_Destroy(opts);
    *bus = b;
    return JT_OK;

fail:
    jt_bus_close(&b);
    natsOptions_Destroy(opts);
    return st;
}

void jt_bus_close(jt_bus_t *bus)
{
    if (bus == NULL)
        return;
    kvStore_Destroy(bus->idempotency);
    kvStore_Destroy(bus->cancels);
    kvStore_Destroy(bus->workers);
    kvStore_Destroy(bus->leases);
    kvStore_Destroy(bus->tasks);
    jsCtx_Destroy(bus->js);
    if (bus->nc != NULL) {
        natsConnection_Close(bus->nc);
        natsConnection_Destroy(bus->nc);
    }
    memset(bus, 0, sizeof *bus);
}

int64_t jt_bus_pending_jobs(jt_bus_t *bus)
{
    jsStreamInfo *si = NULL;
    if (bus == NULL || bus->js == NULL)
        return -1;
    if (js_GetStreamInfo(&si, bus->js, JT_STREAM_JOBS, NULL, NULL) != NATS_OK)
        return -1;
    int64_t n = (int64_t)si->State.Msgs;
    jsStreamInfo_Destroy(si);
    return n;
}

bool jt_bus_task_subject(char *buf, size_t len, const char *prefix, const char *task_id)
{
    if (buf == NULL || len == 0 || prefix == NULL || !jt_task_id_valid(task_id))
        return false;
    int n = snprintf(buf, len, "%s%s", prefix, task_id);
    return n > 0 && (size_t)n < len;
}
