/* direct_client.c -- jouletrace-direct-client: publish one job straight to NATS, print its progress
 * and result.
 *
 * Usage: jouletrace-direct-client [--task-id ID] [--timeout SECONDS] JOB.json|-
 *
 * The job file is a REST body (examples/square.json). It is checked and converted to the
 * msgpack job exactly as the gateway does, given a task id (its own "task_id", --task-id,
 * or 32 random hex characters), and published with JetStream to jouletrace.jobs.measure with
 * the header Nats-Msg-Id = task id, AFTER subscribing to jouletrace.progress.<id> and
 * jouletrace.result.<id> so that no record is missed. Every progress record is printed as one
 * JSON line on stdout, then the final record (from jouletrace.result.<id>). Notes go to
 * stderr. When no result arrives in time the task-state KV bucket is read once as a fallback.
 *
 * NATS: JOULETRACE_NATS_URL (default nats://127.0.0.1:4222; several URLs separated by
 * commas) as the user of JOULETRACE_NATS_CREDENTIALS_FILE, a `user:password` file of mode 600
 * (scripts/up writes var/nats/client.credentials); a file others may read, or credentials in
 * the URL next to a file, are refused with exit 2.
 * Exit status: 0 completed, 1 failed or cancelled, 2 bad input or usage, 3 NATS error or
 * timeout.
 */
#include <errno.h>
#include <jansson.h>
#include <msgpack.h>
#include <nats/nats.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "bus.h"
#include "bus_names.h"
#include "job.h"
#include "job_json.h"
#include "job_msgpack.h"
#include "json_text.h"
#include "nats_credentials.h"
#include "retry.h"
#include "status.h"
#include "value.h"

#define DEFAULT_URL "nats://127.0.0.1:4222"
#define DEFAULT_TIMEOUT_SECONDS 600.0
#define PUBLISH_RETRY_MS 15000 /* publishing through a cluster's election */

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;          /* the result arrived (or could not be read) */
    int exit_code;      /* 0 completed, 1 failed/cancelled, 3 unreadable */
} watch_t;

static void usage(FILE *to)
{
    fprintf(
        to,
        "usage: jouletrace-direct-client [--task-id ID] [--timeout SECONDS] JOB.json|-\n"
        "  publishes the job to " JT_SUBJECT_JOBS " (JetStream, header Nats-Msg-Id = task id),\n"
        "  prints every record of " JT_SUBJECT_PROGRESS_PREFIX "<id> as a JSON line, then the\n"
        "  result of " JT_SUBJECT_RESULT_PREFIX "<id>. NATS: JOULETRACE_NATS_URL (" DEFAULT_URL
        "),\n"
        "  credentials: the `user:password` file (mode 600) named by " JT_NATS_CREDENTIALS_ENV ".\n"
        "  Exit status: 0 completed, 1 failed or cancelled, 2 bad input, 3 NATS error or "
        "timeout.\n");
}

/* Whole file (or stdin for "-") into a malloc'd buffer; at most max bytes. */
static char *read_input(const char *path, size_t max, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "jouletrace-direct-client: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    bool bad = buf == NULL || ferror(f);
    if (f != stdin)
        fclose(f);
    if (bad || n > max) {
        fprintf(stderr, "jouletrace-direct-client: %s: %s\n", path,
                bad ? "read error" : "larger than the 4 MiB job limit");
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static void random_task_id(char out[33])
{
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        unsigned long long x = (unsigned long long)ts.tv_sec * 1000000007ULL ^ (unsigned long long)ts.tv_nsec;
        for (size_t i = 0; i < sizeof b; i++, x = x * 6364136223846793005ULL + 1442695040888963407ULL)
            b[i] = (unsigned char)(x >> 56);
    }
    for (size_t i = 0; i < sizeof b; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static bool valid_task_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > JT_MAX_NAME_BYTES)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-'))
            return false;
    }
    return true;
}

/* A msgpack record as a new JSON value, or NULL (reason on stderr). */
static json_t *record_to_json(const char *data, size_t len)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    json_t *j = NULL;
    jt_error_t err = {0};
    if (msgpack_unpack_next(&u, data, len, &off) != MSGPACK_UNPACK_SUCCESS || off != len)
        fprintf(stderr, "jouletrace-direct-client: a record is not one msgpack value (%zu bytes)\n", len);
    else if ((j = jt_value_to_json(&u.data, &err)) == NULL)
        fprintf(stderr, "jouletrace-direct-client: a record cannot be shown as JSON: %s\n", err.message);
    msgpack_unpacked_destroy(&u);
    return j;
}

/* Exit status for a final record: 0 completed, 1 failed/cancelled, -1 not final. */
static int final_code(const json_t *record)
{
    const char *st = json_string_value(json_object_get(record, "status"));
    if (st == NULL)
        return -1;
    if (strcmp(st, "completed") == 0)
        return 0;
    if (strcmp(st, "failed") == 0 || strcmp(st, "cancelled") == 0)
        return 1;
    return -1;
}

static void print_line(json_t *j)
{
    char *text = jt_json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (text != NULL) {
        fputs(text, stdout);
        fputc('\n', stdout);
        fflush(stdout);
        free(text);
    }
}

static void finish(watch_t *w, int code)
{
    w->done = true;
    w->exit_code = code;
    pthread_cond_signal(&w->cv);
}

static void on_progress(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)nc;
    (void)sub;
    watch_t *w = closure;
    json_t *j = record_to_json(natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg));
    pthread_mutex_lock(&w->mu);
    /* The final record comes on the result subject too: print it once, from there. */
    if (j != NULL && !w->done && final_code(j) < 0)
        print_line(j);
    pthread_mutex_unlock(&w->mu);
    json_decref(j);
    natsMsg_Destroy(msg);
}

static void on_result(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)nc;
    (void)sub;
    watch_t *w = closure;
    json_t *j = record_to_json(natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg));
    pthread_mutex_lock(&w->mu);
    if (!w->done) {
        if (j != NULL)
            print_line(j);
        int code = j != NULL ? final_code(j) : 3;
        finish(w, code < 0 ? 3 : code);
    }
    pthread_mutex_unlock(&w->mu);
    json_decref(j);
    natsMsg_Destroy(msg);
}

/* The latest record from the tasks KV bucket (JSON). A final one is printed and its exit
 * status returned; otherwise -1, with the reason on stderr unless quiet. */
static int read_task_state(jsCtx *js, const char *task_id, bool quiet)
{
    kvStore *kv = NULL;
    kvEntry *e = NULL;
    natsStatus s = js_KeyValue(&kv, js, JT_KV_TASKS);
    if (s == NATS_OK)
        s = kvStore_Get(&e, kv, task_id);
    int code = -1;
    if (s == NATS_OK) {
        json_error_t jerr;
        json_t *rec = json_loadb(kvEntry_Value(e), (size_t)kvEntry_ValueLen(e), 0, &jerr);
        const char *st = json_string_value(json_object_get(rec, "status"));
        code = rec != NULL ? final_code(rec) : -1;
        if (code >= 0)
            print_line(rec);
        else if (!quiet)
            fprintf(stderr, "jouletrace-direct-client: timed out; the task is still %s\n",
                    st ? st : "in an unreadable state");
        json_decref(rec);
    } else if (!quiet) {
        fprintf(stderr, "jouletrace-direct-client: timed out; no worker has picked the task up yet "
                        "(%s)\n", natsStatus_GetText(s));
    }
    kvEntry_Destroy(e);
    kvStore_Destroy(kv);
    return code;
}

static int run(const char *url, const jt_nats_credentials_t *creds, const char *task_id,
               const uint8_t *job, size_t job_len, double timeout_s)
{
    natsOptions *opts = NULL;
    natsConnection *nc = NULL;
    natsSubscription *sub_progress = NULL, *sub_result = NULL;
    jsCtx *js = NULL;
    natsMsg *msg = NULL;
    jsPubAck *ack = NULL;
    jsErrCode jerr = 0;
    char subject[JT_MAX_NAME_BYTES + 64];
    int code = 3;

    watch_t w = {.done = false, .exit_code = 3};
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, &ca);
    pthread_condattr_destroy(&ca);

    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK)
        s = jt_bus_set_servers(opts, url); /* one URL, or a cluster's, comma-separated */
    if (s == NATS_OK)
        s = jt_nats_credentials_apply(opts, creds);
    if (s == NATS_OK)
        s = natsOptions_SetName(opts, "jouletrace-direct-client");
    if (s == NATS_OK)
        s = natsConnection_Connect(&nc, opts);
    if (s != NATS_OK) {
        char shown[512];
        jt_nats_url_redact(url, shown, sizeof shown);
        fprintf(stderr,
                "jouletrace-direct-client: cannot connect to %s: %s (is nats-server running? "
                "set JOULETRACE_NATS_URL; are the credentials of %s right?)\n",
                shown, natsStatus_GetText(s), JT_NATS_CREDENTIALS_ENV);
        goto out;
    }

    /* Subscribe first, and make sure the server has the subscriptions, then publish. */
    snprintf(subject, sizeof subject, "%s%s", JT_SUBJECT_PROGRESS_PREFIX, task_id);
    s = natsConnection_Subscribe(&sub_progress, nc, subject, on_progress, &w);
    snprintf(subject, sizeof subject, "%s%s", JT_SUBJECT_RESULT_PREFIX, task_id);
    if (s == NATS_OK)
        s = natsConnection_Subscribe(&sub_result, nc, subject, on_result, &w);
    if (s == NATS_OK)
        s = natsConnection_FlushTimeout(nc, 5000);
    if (s != NATS_OK) {
        fprintf(stderr, "jouletrace-direct-client: cannot subscribe: %s\n", natsStatus_GetText(s));
        goto out;
    }

    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = 10000; /* ms for the publish acknowledgement */
    s = natsConnection_JetStream(&js, nc, &jo);
    if (s == NATS_OK)
        s = natsMsg_Create(&msg, JT_SUBJECT_JOBS, NULL, (const char *)job, (int)job_len);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(msg, "Nats-Msg-Id", task_id);
    if (s == NATS_OK) {
        /* A stream electing a leader answers "no responders" or nothing for a moment: publish
         * again (the same Nats-Msg-Id, so JetStream stores the job once). */
        const jt_retry_t policy = {.patience_ms = PUBLISH_RETRY_MS};
        jt_backoff_t b;
        jt_backoff_init(&b, &policy);
        while ((s = js_PublishMsg(&ack, js, msg, NULL, &jerr)) != NATS_OK &&
               jt_nats_temporary(s, jerr) && jt_backoff_wait(&b))
            jerr = 0;
    }
    if (s != NATS_OK) {
        fprintf(stderr, "jouletrace-direct-client: publishing to %s failed: %s (JetStream error %d; "
                        "has `jouletrace-broker init` created the stream?)\n",
                JT_SUBJECT_JOBS, natsStatus_GetText(s), (int)jerr);
        goto out;
    }
    fprintf(stderr, "jouletrace-direct-client: task %s published (stream %s, sequence %llu%s)\n",
            task_id, ack->Stream, (unsigned long long)ack->Sequence,
            ack->Duplicate ? ", a duplicate of an earlier publish: only its records follow" : "");

    if (ack->Duplicate) {
        /* Deduplicated: the task may have ended long ago, then no record will come. */
        int fc;
        pthread_mutex_lock(&w.mu);
        bool done_already = w.done;
        pthread_mutex_unlock(&w.mu);
        if (!done_already && (fc = read_task_state(js, task_id, true)) >= 0) {
            pthread_mutex_lock(&w.mu);
            w.done = true;
            pthread_mutex_unlock(&w.mu);
            code = fc;
            goto out;
        }
    }

    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    if (timeout_s > 0) {
        double whole = (double)(long long)timeout_s;
        deadline.tv_sec += (time_t)whole;
        deadline.tv_nsec += (long)((timeout_s - whole) * 1e9);
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&w.mu);
    while (!w.done) {
        if (timeout_s > 0) {
            if (pthread_cond_timedwait(&w.cv, &w.mu, &deadline) == ETIMEDOUT)
                break;
        } else {
            pthread_cond_wait(&w.cv, &w.mu);
        }
    }
    bool done = w.done;
    code = w.exit_code;
    w.done = true; /* late records are not printed */
    pthread_mutex_unlock(&w.mu);
    if (!done) {
        code = read_task_state(js, task_id, false);
        if (code < 0)
            code = 3;
    }

out:
    natsSubscription_Destroy(sub_progress); /* waits for nothing: callbacks check w.done */
    natsSubscription_Destroy(sub_result);
    jsPubAck_Destroy(ack);
    natsMsg_Destroy(msg);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    natsOptions_Destroy(opts);
    /* Closing the library waits for the delivery threads, so no callback outlives w. */
    nats_CloseAndWait(5000);
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    return code;
}

int main(int argc, char **argv)
{
    const char *task_id = NULL, *path = NULL;
    double timeout_s = DEFAULT_TIMEOUT_SECONDS;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--task-id") == 0 && i + 1 < argc) {
            task_id = argv[++i];
        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            char *end;
            timeout_s = strtod(argv[++i], &end);
            if (*end != '\0' || !(timeout_s >= 0 && timeout_s <= 86400)) {
                fprintf(stderr, "jouletrace-direct-client: --timeout must be 0..86400 seconds "
                                "(0: wait forever)\n");
                return 2;
            }
        } else if (path == NULL && (argv[i][0] != '-' || strcmp(argv[i], "-") == 0)) {
            path = argv[i];
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (path == NULL) {
        usage(stderr);
        return 2;
    }

    size_t len = 0;
    char *body = read_input(path, JT_MAX_BODY_BYTES, &len);
    if (body == NULL)
        return 2;
    jt_job_t job;
    jt_job_init(&job);
    jt_error_t err = {0};
    jt_status_t st = jt_job_from_json(&job, body, len, &err);
    free(body);
    if (st != JT_OK) {
        fprintf(stderr, "jouletrace-direct-client: %s: %s%s%s\n", path, err.path,
                err.path[0] ? ": " : "", err.message);
        return 2;
    }

    char generated[33];
    if (task_id == NULL)
        task_id = job.task_id;
    if (task_id == NULL) {
        random_task_id(generated);
        task_id = generated;
    }
    if (!valid_task_id(task_id)) {
        fprintf(stderr, "jouletrace-direct-client: task id must be 1..%u characters of "
                        "[A-Za-z0-9_-]\n", JT_MAX_NAME_BYTES);
        jt_job_cleanup(&job);
        return 2;
    }
    char *id_copy = strdup(task_id);
    if (id_copy == NULL) {
        jt_job_cleanup(&job);
        return 3;
    }
    free(job.task_id);
    job.task_id = id_copy; /* the job carries its id too, so any consumer sees the same one */

    uint8_t *packed = NULL;
    size_t packed_len = 0;
    if (jt_job_to_msgpack(&job, &packed, &packed_len) != JT_OK) {
        fprintf(stderr, "jouletrace-direct-client: out of memory\n");
        jt_job_cleanup(&job);
        return 3;
    }
    const char *url = getenv("JOULETRACE_NATS_URL");
    if (url == NULL || url[0] == '\0')
        url = DEFAULT_URL;
    jt_nats_credentials_t creds;
    if (jt_nats_auth_prepare(url, getenv(JT_NATS_CREDENTIALS_ENV), &creds, &err) != JT_OK) {
        fprintf(stderr, "jouletrace-direct-client: %s\n", err.message);
        free(packed);
        jt_job_cleanup(&job);
        return 2;
    }
    int code = run(url, &creds, job.task_id, packed, packed_len, timeout_s);
    jt_nats_credentials_wipe(&creds);
    free(packed);
    jt_job_cleanup(&job);
    return code;
}
