/* main.c -- jouletrace-broker: create (init) or inspect (status) the JouleTrace topology on NATS.
 *
 * Usage: jouletrace-broker init|status
 * Reaches NATS at JOULETRACE_NATS_URL (default nats://127.0.0.1:4222) as the user of
 * JOULETRACE_NATS_CREDENTIALS_FILE (a `user:password` file of mode 600, nats_credentials.h).
 * init creates the jobs stream, its pull consumer and the KV buckets idempotently
 * (jt_topology_ensure, the function every program calls at start) and prints them. status
 * only reads. Exit status: 0 fine, 1 NATS unreachable or an error, 2 (status) part of the
 * topology is missing, or the credentials file or URL is refused, 64 bad usage.
 * Single-threaded (nats.c runs its own threads underneath).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "bus_names.h"
#include "config.h"
#include "nats_credentials.h"
#include "nats_status.h"

/* A refused credentials file is 2 as in every program; status's "incomplete" shares it. */
enum { EXIT_FINE = 0, EXIT_ERROR = 1, EXIT_INCOMPLETE = 2, EXIT_CREDENTIALS = 2, EXIT_USAGE = 64 };

static const char *const kv_names[] = {JT_KV_TASKS,       JT_KV_LEASES,  JT_KV_WORKERS,
                                       JT_KV_CANCELS,     JT_KV_IDEMPOTENCY, JT_KV_BATCHES,
                                       JT_KV_WEBHOOKS};
#define KV_COUNT (sizeof kv_names / sizeof kv_names[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: jouletrace-broker init|status\n"
               "  init    create the jobs stream, the workers' pull consumer and the KV buckets\n"
               "          (idempotent), then print them\n"
               "  status  print streams, consumers, KV buckets and pending jobs; exit 2 when\n"
               "          part of the topology is missing, 1 when NATS cannot be reached\n"
               "NATS: JOULETRACE_NATS_URL (default nats://127.0.0.1:4222), credentials from the\n"
               "  `user:password` file (mode 600) named by JOULETRACE_NATS_CREDENTIALS_FILE;\n"
               "  exit 2 when that file or the URL is refused\n");
}

/* Nanoseconds as "48h", "5m", "30s", "1.5s" or "none". */
static void duration(int64_t ns, char *buf, size_t len)
{
    const int64_t s = 1000000000LL;
    if (ns <= 0)
        snprintf(buf, len, "none");
    else if (ns % (3600 * s) == 0)
        snprintf(buf, len, "%" PRId64 "h", ns / (3600 * s));
    else if (ns % (60 * s) == 0)
        snprintf(buf, len, "%" PRId64 "m", ns / (60 * s));
    else
        snprintf(buf, len, "%gs", (double)ns / (double)s);
}

static const char *retention_name(jsRetentionPolicy r)
{
    return r == js_WorkQueuePolicy ? "workqueue" : r == js_InterestPolicy ? "interest" : "limits";
}

/* The server leading a stream's replicas ("-" for a single server or none elected). */
static const char *leader_of(const jsStreamInfo *si)
{
    return si->Cluster != NULL && si->Cluster->Leader != NULL && si->Cluster->Leader[0] != '\0'
               ? si->Cluster->Leader
               : "-";
}

/* Connection for status: no reconnects, nothing created. */
static natsStatus connect_plain(const char *url, const jt_nats_credentials_t *creds,
                                natsConnection **nc, jsCtx **js)
{
    natsOptions *opts = NULL;
    jsOptions jo;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK)
        s = jt_bus_set_servers(opts, url); /* a cluster: comma-separated URLs */
    if (s == NATS_OK)
        s = jt_nats_credentials_apply(opts, creds);
    if (s == NATS_OK)
        s = natsOptions_SetName(opts, "jouletrace-broker");
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(opts, 2000);
    if (s == NATS_OK)
        s = natsOptions_SetAllowReconnect(opts, false);
    if (s == NATS_OK)
        s = natsOptions_SetCustomInboxPrefix(opts, JT_INBOX_PREFIX);
    if (s == NATS_OK)
        s = natsConnection_Connect(nc, opts);
    natsOptions_Destroy(opts);
    if (s != NATS_OK)
        return s;
    jsOptions_Init(&jo);
    jo.Wait = 5000;
    s = natsConnection_JetStream(js, *nc, &jo);
    if (s != NATS_OK) {
        natsConnection_Destroy(*nc);
        *nc = NULL;
    }
    return s;
}

static void print_consumers(jsCtx *js, const char *stream, int *found_workers)
{
    jsConsumerInfoList *list = NULL;
    char wait[32];
    char why[256];
    natsStatus s = js_Consumers(&list, js, stream, NULL, NULL);
    if (s == NATS_NOT_FOUND || (s == NATS_OK && list->Count == 0)) {
        printf("    (no consumers)\n");
        jsConsumerInfoList_Destroy(list);
        return;
    }
    if (s != NATS_OK) {
        printf("    (cannot list consumers: %s)\n", jt_nats_describe(s, why, sizeof why));
        return;
    }
    for (int i = 0; i < list->Count; i++) {
        jsConsumerInfo *ci = list->List[i];
        jsConsumerConfig *cc = ci->Config;
        duration(cc != NULL ? cc->AckWait : 0, wait, sizeof wait);
        printf("    consumer %-20s pending=%" PRIu64 " ack_pending=%" PRId64 " redelivered=%" PRId64
               " waiting_pulls=%" PRId64 " ack_wait=%s max_deliver=%" PRId64
               " max_ack_pending=%" PRId64 " filter=%s\n",
               ci->Name, ci->NumPending, ci->NumAckPending, ci->NumRedelivered, ci->NumWaiting,
               wait, cc != NULL ? cc->MaxDeliver : 0, cc != NULL ? cc->MaxAckPending : 0,
               cc != NULL && cc->FilterSubject != NULL ? cc->FilterSubject : "-");
        if (strcmp(stream, JT_STREAM_JOBS) == 0 && strcmp(ci->Name, JT_CONSUMER_WORKERS) == 0)
            *found_workers = 1;
    }
    jsConsumerInfoList_Destroy(list);
}

/* Prints everything; returns EXIT_FINE, EXIT_INCOMPLETE or EXIT_ERROR. */
static int print_topology(natsConnection *nc, jsCtx *js, const char *shown_url)
{
    jsAccountInfo *ai = NULL;
    jsStreamInfoList *list = NULL;
    jsErrCode jerr = 0;
    char server_id[128] = "";
    char why[256];
    int found_jobs = 0, found_workers = 0, found_kv[KV_COUNT] = {0};

    natsConnection_GetConnectedServerId(nc, server_id, sizeof server_id);
    natsStatus s = js_GetAccountInfo(&ai, js, NULL, &jerr);
    if (s != NATS_OK) {
        fprintf(stderr,
                "jouletrace-broker: connected to %s but JetStream does not answer: %s "
                "(start nats-server with -js or a jetstream block)\n",
                shown_url, jt_nats_describe(s, why, sizeof why));
        return EXIT_ERROR;
    }
    printf("NATS %s (server %s)\n", shown_url, server_id);
    printf("JetStream: %" PRId64 " streams, %" PRId64 " consumers, %" PRIu64
           " bytes stored, %" PRIu64 " bytes in memory\n",
           ai->Streams, ai->Consumers, ai->Store, ai->Memory);
    jsAccountInfo_Destroy(ai);

    s = js_Streams(&list, js, NULL, NULL);
    if (s != NATS_OK && s != NATS_NOT_FOUND) {
        fprintf(stderr, "jouletrace-broker: cannot list streams: %s\n",
                jt_nats_describe(s, why, sizeof why));
        return EXIT_ERROR;
    }
    printf("Streams:\n");
    for (int i = 0; list != NULL && i < list->Count; i++) {
        jsStreamInfo *si = list->List[i];
        jsStreamConfig *sc = si->Config;
        char dup[32];
        if (strncmp(sc->Name, "KV_", 3) == 0)
            continue;
        duration(sc->Duplicates, dup, sizeof dup);
        printf("  %-22s subjects=%s retention=%s storage=%s messages=%" PRIu64 " bytes=%" PRIu64
               " max_msgs=%" PRId64 " max_msg_size=%d discard=%s duplicate_window=%s "
               "consumers=%" PRId64 " replicas=%" PRId64 " leader=%s\n",
               sc->Name, sc->SubjectsLen > 0 ? sc->Subjects[0] : "-", retention_name(sc->Retention),
               sc->Storage == js_MemoryStorage ? "memory" : "file", si->State.Msgs, si->State.Bytes,
               sc->MaxMsgs, (int)sc->MaxMsgSize, sc->Discard == js_DiscardNew ? "new" : "old", dup,
               si->State.Consumers, sc->Replicas, leader_of(si));
        if (strcmp(sc->Name, JT_STREAM_JOBS) == 0)
            found_jobs = 1;
        print_consumers(js, sc->Name, &found_workers);
    }
    printf("KV buckets:\n");
    for (int i = 0; list != NULL && i < list->Count; i++) {
        jsStreamInfo *si = list->List[i];
        jsStreamConfig *sc = si->Config;
        char ttl[32];
        if (strncmp(sc->Name, "KV_", 3) != 0)
            continue;
        duration(sc->MaxAge, ttl, sizeof ttl);
        printf("  %-22s keys=%" PRId64 " values=%" PRIu64 " bytes=%" PRIu64
               " ttl=%s history=%" PRId64 " replicas=%" PRId64 " leader=%s\n",
               sc->Name + 3, si->State.NumSubjects, si->State.Msgs, si->State.Bytes, ttl,
               sc->MaxMsgsPerSubject, sc->Replicas, leader_of(si));
        for (size_t k = 0; k < KV_COUNT; k++)
            if (strcmp(sc->Name + 3, kv_names[k]) == 0)
                found_kv[k] = 1;
    }
    jsStreamInfoList_Destroy(list);

    jt_bus_t bus = {.nc = nc, .js = js};
    int64_t pending = found_jobs ? jt_bus_pending_jobs(&bus) : 0;
    printf("Pending jobs: %" PRId64 "\n", pending);

    int missing = 0;
    if (!found_jobs) {
        printf("MISSING stream %s\n", JT_STREAM_JOBS);
        missing++;
    }
    if (!found_workers) {
        printf("MISSING consumer %s on %s\n", JT_CONSUMER_WORKERS, JT_STREAM_JOBS);
        missing++;
    }
    for (size_t k = 0; k < KV_COUNT; k++)
        if (!found_kv[k]) {
            printf("MISSING KV bucket %s\n", kv_names[k]);
            missing++;
        }
    if (missing > 0) {
        printf("Topology incomplete: run `jouletrace-broker init` (or start a gateway/worker)\n");
        return EXIT_INCOMPLETE;
    }
    printf("Topology complete\n");
    return EXIT_FINE;
}

static int run_init(const char *url, const jt_nats_credentials_t *creds, const char *shown,
                    const jt_config_t *cfg)
{
    jt_topology_opts_t o;
    jt_bus_t bus;
    jt_error_t err;

    jt_topology_opts_init(&o);
    o.max_ack_pending = cfg->max_ack_pending;
    if (jt_bus_connect_auth(url, creds, "jouletrace-broker", &o, &bus, &err) != JT_OK) {
        fprintf(stderr, "jouletrace-broker: init failed: %s\n", err.message);
        return EXIT_ERROR;
    }
    printf("Topology ensured on %s\n", shown);
    int rc = print_topology(bus.nc, bus.js, shown);
    jt_bus_close(&bus);
    return rc == EXIT_FINE ? EXIT_FINE : EXIT_ERROR;
}

static int run_status(const char *url, const jt_nats_credentials_t *creds, const char *shown)
{
    char why[256];
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    natsStatus s = connect_plain(url, creds, &nc, &js);
    if (s != NATS_OK) {
        fprintf(stderr,
                "jouletrace-broker: cannot reach NATS at %s: %s (is nats-server running there? "
                "set JOULETRACE_NATS_URL)\n",
                shown, jt_nats_describe(s, why, sizeof why));
        return EXIT_ERROR;
    }
    int rc = print_topology(nc, js, shown);
    jsCtx_Destroy(js);
    natsConnection_Close(nc);
    natsConnection_Destroy(nc);
    return rc;
}

int main(int argc, char **argv)
{
    jt_config_t cfg;
    jt_error_t err;
    char shown[512];

    if (argc != 2 || (strcmp(argv[1], "init") != 0 && strcmp(argv[1], "status") != 0)) {
        if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
            usage(stdout);
            return EXIT_FINE;
        }
        usage(stderr);
        return EXIT_USAGE;
    }
    if (jt_config_load(&cfg, &err) != JT_OK) {
        fprintf(stderr, "jouletrace-broker: %s: %s\n", err.path, err.message);
        return EXIT_ERROR;
    }
    jt_nats_credentials_t creds;
    if (jt_nats_auth_prepare(cfg.nats_url, cfg.nats_credentials_file, &creds, &err) != JT_OK) {
        fprintf(stderr, "jouletrace-broker: %s\n", err.message);
        return EXIT_CREDENTIALS;
    }
    jt_nats_url_redact(cfg.nats_url, shown, sizeof shown);
    int rc = strcmp(argv[1], "init") == 0 ? run_init(cfg.nats_url, &creds, shown, &cfg)
                                          : run_status(cfg.nats_url, &creds, shown);
    jt_nats_credentials_wipe(&creds);
    fflush(stdout);
    nats_Close();
    return rc;
}
