/* bus.c -- the NATS connection of a program: options, servers, connect, bind the KV buckets, close.
 *
 * Runs on the caller's thread; the connection callbacks at the bottom run on
 * nats.c threads and only log.
 */
#include "bus.h"

#include <stdio.h>
#include <string.h>

#include "bus_names.h"
#include "log.h"
#include "nats_credentials.h"
#include "nats_status.h"
#include "subscription.h"
#include "task_state.h"

#define CONNECT_TIMEOUT_MS 2000 /* one TCP connect + INFO/CONNECT handshake */
#define RECONNECT_WAIT_MS 250
#define API_WAIT_MS 5000 /* JetStream API requests and publish acks */

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
    jt_nats_url_redact(url, shown, sizeof shown);
    jt_log_info("NATS reconnected to %s", shown);
}

/* Permission violations, slow consumers: the only way nats.c reports them. Runs on nats.c's
 * callback thread, possibly while another thread closes the connection or the subscription:
 * it must not take their locks (natsSubscription_GetSubject and natsConnection_GetLastError
 * do, and once left the gateway's SIGTERM hanging), so it logs only the status. */
static void on_async_error(natsConnection *nc, natsSubscription *sub, natsStatus s, void *closure)
{
    (void)nc;
    (void)closure;
    jt_log_warn("NATS asynchronous error%s: %s", sub != NULL ? " on a subscription" : "",
                natsStatus_GetText(s));
}

#define MAX_SERVERS 16

natsStatus jt_bus_set_servers(natsOptions *opts, const char *url)
{
    char copy[1024];
    const char *servers[MAX_SERVERS];
    int n = 0;
    if (opts == NULL || url == NULL || snprintf(copy, sizeof copy, "%s", url) >= (int)sizeof copy)
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

static natsStatus make_options(natsOptions **out, const char *url,
                               const jt_nats_credentials_t *creds, const char *name)
{
    natsOptions *opts = NULL;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK)
        s = jt_bus_set_servers(opts, url);
    if (s == NATS_OK)
        s = jt_nats_credentials_apply(opts, creds);
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
    return jt_bus_connect_auth(url, NULL, name, o, bus, err);
}

jt_status_t jt_bus_connect_auth(const char *url, const jt_nats_credentials_t *creds,
                                const char *name, const jt_topology_opts_t *o, jt_bus_t *bus,
                                jt_error_t *err)
{
    jt_bus_t b;
    natsOptions *opts = NULL;
    jsOptions jo;
    char shown[512];
    char why[256];
    jt_status_t st = JT_OK;
    const struct {
        const char *bucket;
        kvStore **slot;
    } binds[] = {{JT_KV_TASKS, &b.tasks},
                 {JT_KV_LEASES, &b.leases},
                 {JT_KV_WORKERS, &b.workers},
                 {JT_KV_CANCELS, &b.cancels},
                 {JT_KV_IDEMPOTENCY, &b.idempotency},
                 {JT_KV_BATCHES, &b.batches},
                 {JT_KV_WEBHOOKS, &b.webhooks}};

    memset(&b, 0, sizeof b);
    if (bus == NULL)
        return jt_error_set(err, JT_ERR_INVALID, "bus", "no bus to fill");
    memset(bus, 0, sizeof *bus);
    if (url == NULL || url[0] == '\0')
        return jt_error_set(err, JT_ERR_CONFIG, "JOULETRACE_NATS_URL", "no NATS URL given");
    jt_nats_url_redact(url, shown, sizeof shown);

    natsStatus s = make_options(&opts, url, creds, name);
    if (s != NATS_OK) {
        jt_nats_describe(s, why, sizeof why);
        st = jt_error_set(err, JT_ERR_CONFIG, "JOULETRACE_NATS_URL", "bad NATS URL %s: %s", shown,
                          why);
        goto fail;
    }
    s = natsConnection_Connect(&b.nc, opts);
    if (s != NATS_OK) {
        jt_nats_describe(s, why, sizeof why);
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
        jt_nats_describe(s, why, sizeof why);
        st = jt_error_set(err, jt_nats_status(s), "", "cannot create a JetStream context: %s", why);
        goto fail;
    }
    jt_topology_opts_t topo;
    if (o != NULL)
        topo = *o;
    else
        jt_topology_opts_init(&topo);
    char how[64];
    st = jt_topology_replicas(b.nc, topo.replicas, &topo.replicas, how, sizeof how, err);
    if (st != JT_OK)
        goto fail;
    jt_log_info("NATS %s: %d replica%s asked for the stream and the KV buckets (%s; a larger "
                "existing count is kept)",
                shown, topo.replicas, topo.replicas > 1 ? "s" : "", how);
    st = jt_topology_ensure(b.js, &topo, err);
    if (st != JT_OK)
        goto fail;

    for (size_t i = 0; i < sizeof binds / sizeof binds[0]; i++) {
        s = js_KeyValue(binds[i].slot, b.js, binds[i].bucket);
        if (s != NATS_OK) {
            jt_nats_describe(s, why, sizeof why);
            st = jt_error_set(err, jt_nats_status(s), binds[i].bucket,
                              "cannot bind KV bucket %s: %s", binds[i].bucket, why);
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
    kvStore_Destroy(bus->webhooks);
    kvStore_Destroy(bus->batches);
    kvStore_Destroy(bus->idempotency);
    kvStore_Destroy(bus->cancels);
    kvStore_Destroy(bus->workers);
    kvStore_Destroy(bus->leases);
    kvStore_Destroy(bus->tasks);
    jsCtx_Destroy(bus->js);
    if (bus->nc != NULL) {
        natsConnection_Close(bus->nc); /* joins the read loop */
        jt_subscription_bury(bus->nc);
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
