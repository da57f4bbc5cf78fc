/* test_bus_auth.c -- NATS credentials files and the users scripts/up generates, on nats-server. */
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit_main.h"

#include "bus.h"
#include "bus_names.h"
#include "nats_auth.h"
#include "nats_credentials.h"
#include "task_state.h"
#include "temp_dir.h"

#ifndef JT_REPO_ROOT
#error "JT_REPO_ROOT (the repository, for scripts/lib.sh) must be defined by the build"
#endif
#ifndef JT_BROKER_BIN
#error "JT_BROKER_BIN (the jouletrace-broker executable) must be defined by the build"
#endif
#ifndef JT_GATEWAY_BIN
#error "JT_GATEWAY_BIN (the jouletrace-gateway executable) must be defined by the build"
#endif

#define SECRET "Sup3r-s3cret_pw"

static int setup_server(void **state)
{
    jt_nats_auth_t *a = calloc(1, sizeof *a);
    assert_non_null(a);
    if (jt_nats_auth_start(a, JT_REPO_ROOT) != 0) {
        free(a);
        return -1;
    }
    *state = a;
    return 0;
}

static int teardown_server(void **state)
{
    jt_nats_auth_t *a = *state;
    if (a != NULL)
        jt_nats_auth_stop(a);
    free(a);
    return 0;
}

/* A private directory for files of one case, removed by teardown_dir. */
static int setup_dir(void **state)
{
    char *dir = calloc(1, 128);
    assert_non_null(dir);
    if (jt_temp_dir_make(dir, 128, "jt-creds") != 0) {
        free(dir);
        return -1;
    }
    *state = dir;
    return 0;
}

static int teardown_dir(void **state)
{
    jt_temp_dir_remove(*state);
    free(*state);
    return 0;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static void load_creds(const char *path, jt_nats_credentials_t *c)
{
    jt_error_t err;
    if (jt_nats_credentials_load(path, c, &err) != JT_OK)
        fail_msg("%s", err.message);
}

/* Runs argv with extra environment (NULL-terminated "NAME=value") and the JOULETRACE_* of the
 * test dropped; stdout+stderr into out. Returns the exit status, or -1. */
static int run_program(char *const *argv, const char *const *vars, const char *dir, char *out,
                       size_t len)
{
    char log[192];
    snprintf(log, sizeof log, "%s/program.log", dir);
    unlink(log);
    char **envp = jt_proc_envp("JOULETRACE_", vars);
    assert_non_null(envp);
    pid_t pid = jt_proc_spawn(argv, envp, log, SIGKILL, false);
    free(envp);
    assert_true(pid > 0);
    int status = -1;
    if (!jt_proc_reap(pid, 20.0, &status)) {
        kill(pid, SIGKILL);
        jt_proc_reap(pid, 5.0, &status);
        fail_msg("%s did not exit within 20 s", argv[0]);
    }
    FILE *f = fopen(log, "r");
    size_t n = f != NULL ? fread(out, 1, len - 1, f) : 0;
    out[n] = '\0';
    if (f != NULL)
        fclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- (a) the service user, from its 0600 file, does the service's whole job ---------- */

static void on_validate(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)sub;
    (void)closure;
    natsConnection_PublishString(nc, natsMsg_GetReply(msg), "{\"validation\":{}}");
    natsMsg_Destroy(msg);
}

/* What workers listen to: cancellations (synchronous) and validation requests (answered). */
static void listen_as_workers(jt_bus_t *bus, natsSubscription **cancels,
                              natsSubscription **validations)
{
    assert_int_equal(natsConnection_SubscribeSync(cancels, bus->nc, JT_SUBJECT_CANCEL_PREFIX ">"),
                     NATS_OK);
    assert_int_equal(natsConnection_QueueSubscribe(validations, bus->nc, JT_SUBJECT_VALIDATE,
                                                   JT_QUEUE_WORKERS, on_validate, NULL),
                     NATS_OK);
    assert_int_equal(natsConnection_Flush(bus->nc), NATS_OK);
}

static void service_user_works(void **state)
{
    jt_nats_auth_t *a = *state;
    struct stat st;
    jt_nats_credentials_t creds;
    jt_bus_t gw, wk;
    jt_error_t err;
    jsErrCode jerr = 0;

    assert_int_equal(stat(a->service_creds, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(a->client_creds, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(a->conf, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    load_creds(a->service_creds, &creds);
    assert_string_equal(creds.user, "service");

    /* Without credentials, or with a wrong password, the server refuses; no secret is shown. */
    assert_int_not_equal(jt_bus_connect(a->srv.url, "anonymous", NULL, &gw, &err), JT_OK);
    jt_nats_credentials_t wrong = creds;
    snprintf(wrong.password, sizeof wrong.password, "%s", SECRET);
    assert_int_not_equal(jt_bus_connect_auth(a->srv.url, &wrong, "wrong", NULL, &gw, &err), JT_OK);
    assert_null(strstr(err.message, SECRET));
    assert_null(strstr(err.message, creds.password));
    jt_nats_credentials_wipe(&wrong);

    /* Gateway and worker connections: the topology is created by the service user. */
    if (jt_bus_connect_auth(a->srv.url, &creds, "gateway", NULL, &gw, &err) != JT_OK)
        fail_msg("service as gateway: %s", err.message);
    if (jt_bus_connect_auth(a->srv.url, &creds, "worker", NULL, &wk, &err) != JT_OK)
        fail_msg("service as worker: %s", err.message);

    natsSubscription *cancel_sub = NULL, *validate_sub = NULL, *progress_sub = NULL;
    listen_as_workers(&wk, &cancel_sub, &validate_sub);
    assert_int_equal(
        natsConnection_SubscribeSync(&progress_sub, gw.nc, JT_SUBJECT_PROGRESS_PREFIX "t-1"),
        NATS_OK);
    assert_int_equal(natsConnection_Flush(gw.nc), NATS_OK);

    /* submit: idempotency key, queued record, job */
    assert_int_equal(kvStore_CreateString(NULL, gw.idempotency, "k1", "t-1"), NATS_OK);
    json_t *rec = jt_task_record_new("t-1", JT_TASK_QUEUED);
    uint64_t rev = 0;
    assert_int_equal(jt_task_put(gw.tasks, "t-1", rec, 0, &rev, &err), JT_OK);
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = "t-1";
    assert_int_equal(js_Publish(NULL, gw.js, JT_SUBJECT_JOBS, "job", 3, &po, &jerr), NATS_OK);
    assert_int_equal(jt_bus_pending_jobs(&gw), 1);

    /* worker (the real one runs in examples.direct_client_auth): the job, lease, heartbeat */
    jsConsumerInfo *ci = NULL;
    assert_int_equal(js_GetConsumerInfo(&ci, wk.js, JT_STREAM_JOBS, JT_CONSUMER_WORKERS, NULL,
                                        &jerr),
                     NATS_OK);
    assert_int_equal(ci->NumPending, 1);
    jsConsumerInfo_Destroy(ci);
    natsMsg *job = NULL;
    assert_int_equal(js_GetMsg(&job, wk.js, JT_STREAM_JOBS, 1, NULL, &jerr), NATS_OK);
    natsMsg_Destroy(job);
    uint64_t lrev = 0;
    assert_int_equal(kvStore_CreateString(&lrev, wk.leases, "h.socket0", "w"), NATS_OK);
    assert_int_equal(kvStore_PutString(NULL, wk.workers, "w1", "{}"), NATS_OK);
    jt_task_record_set_status(rec, JT_TASK_COMPLETED);
    assert_int_equal(jt_task_put(wk.tasks, "t-1", rec, rev, NULL, &err), JT_OK);
    assert_int_equal(natsConnection_PublishString(wk.nc, JT_SUBJECT_PROGRESS_PREFIX "t-1", "p"),
                     NATS_OK);
    natsMsg *m = NULL;
    assert_int_equal(natsSubscription_NextMsg(&m, progress_sub, 3000), NATS_OK);
    natsMsg_Destroy(m);

    /* gateway: read back, list heartbeats, cancel, validate */
    json_t *back = NULL;
    assert_int_equal(jt_task_get(gw.tasks, "t-1", &back, NULL, &err), JT_OK);
    json_decref(back);
    kvKeysList keys = {0};
    assert_int_equal(kvStore_Keys(&keys, gw.workers, NULL), NATS_OK);
    assert_int_equal(keys.Count, 1);
    kvKeysList_Destroy(&keys);
    assert_int_equal(kvStore_PutString(NULL, gw.cancels, "t-1", "1"), NATS_OK);
    assert_int_equal(natsConnection_PublishString(gw.nc, JT_SUBJECT_CANCEL_PREFIX "t-1", ""),
                     NATS_OK);
    assert_int_equal(natsSubscription_NextMsg(&m, cancel_sub, 3000), NATS_OK);
    natsMsg_Destroy(m);
    assert_int_equal(natsConnection_RequestString(&m, gw.nc, JT_SUBJECT_VALIDATE, "{}", 3000),
                     NATS_OK);
    natsMsg_Destroy(m);

    json_decref(rec);
    natsSubscription_Destroy(progress_sub);
    natsSubscription_Destroy(validate_sub);
    natsSubscription_Destroy(cancel_sub);
    jt_bus_close(&wk);
    jt_bus_close(&gw);

    /* jouletrace-broker as the service user, from the file: init and status */
    char env_url[128], env_creds[300], out[16384];
    snprintf(env_url, sizeof env_url, "JOULETRACE_NATS_URL=%s", a->srv.url);
    snprintf(env_creds, sizeof env_creds, "JOULETRACE_NATS_CREDENTIALS_FILE=%s", a->service_creds);
    const char *vars[] = {env_url, env_creds, NULL};
    char *init[] = {JT_BROKER_BIN, "init", NULL};
    char *status[] = {JT_BROKER_BIN, "status", NULL};
    int rc = run_program(init, vars, a->dir, out, sizeof out);
    if (rc != 0)
        fail_msg("broker init as service: exit %d: %s", rc, out);
    rc = run_program(status, vars, a->dir, out, sizeof out);
    if (rc != 0)
        fail_msg("broker status as service: exit %d: %s", rc, out);
    assert_non_null(strstr(out, "Topology complete"));
    assert_null(strstr(out, creds.password));
    jt_nats_credentials_wipe(&creds);
}

/* ---- (b) a file others may read is refused, by the loader and by every program -------- */

static void expect_refused(const char *path, const char *needle)
{
    jt_nats_credentials_t c;
    jt_error_t err;
    memset(&err, 0, sizeof err);
    memset(&c, 0x5a, sizeof c);
    assert_int_equal(jt_nats_credentials_load(path, &c, &err), JT_ERR_CONFIG);
    assert_false(c.set);
    assert_string_equal(err.path, JT_NATS_CREDENTIALS_ENV);
    if (strstr(err.message, needle) == NULL)
        fail_msg("%s: expected \"%s\" in \"%s\"", path, needle, err.message);
    assert_null(strstr(err.message, SECRET));
}

static void credentials_file_refused(void **state)
{
    const char *dir = *state;
    char path[256], out[8192];

    /* 0644 (and any group or other bit) is refused, naming the mode and the fix */
    snprintf(path, sizeof path, "%s/open.credentials", dir);
    write_file(path, "service:" SECRET "\n", 0644);
    expect_refused(path, "mode 0644");
    expect_refused(path, "chmod 600");
    write_file(path, "service:" SECRET "\n", 0640);
    expect_refused(path, "mode 0640");
    write_file(path, "service:" SECRET "\n", 0602);
    expect_refused(path, "accessible to group or others");

    /* not a regular file; missing */
    expect_refused(dir, "not a regular file");
    char fifo[256];
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    expect_refused(fifo, "not a regular file");
    snprintf(path, sizeof path, "%s/absent", dir);
    expect_refused(path, "cannot open");

    /* contents */
    static const struct {
        const char *text;
        const char *needle;
    } bad[] = {
        {"", "no `user:password` line"},
        {"# only a comment\n\n", "no `user:password` line"},
        {SECRET "\n", "not `user:password`"},
        {":" SECRET "\n", "the user must be"},
        {"service:\n", "the password must be"},
        {"ser vice:" SECRET "\n", "the user may hold only"},
        {"service:" SECRET " x\n", "visible ASCII"},
        {"service:" SECRET "\"\n", "visible ASCII"},
        {"a:" SECRET "\nb:" SECRET "\n", "only one"},
    };
    snprintf(path, sizeof path, "%s/bad.credentials", dir);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_file(path, bad[i].text, 0600);
        expect_refused(path, bad[i].needle);
    }
    char *big = malloc(JT_NATS_CREDENTIALS_MAX_BYTES + 2);
    assert_non_null(big);
    memset(big, '#', JT_NATS_CREDENTIALS_MAX_BYTES + 1);
    big[JT_NATS_CREDENTIALS_MAX_BYTES + 1] = '\0';
    write_file(path, big, 0600);
    free(big);
    expect_refused(path, "larger than");

    /* accepted: comments, CRLF, a password with ':' in it */
    jt_nats_credentials_t c;
    write_file(path, "# NATS\r\nclient:a:b" SECRET "\r\n", 0600);
    load_creds(path, &c);
    assert_true(c.set);
    assert_string_equal(c.user, "client");
    assert_string_equal(c.password, "a:b" SECRET);
    jt_nats_credentials_wipe(&c);
    assert_false(c.set);
    assert_string_equal(c.password, "");

    /* the programs stop at start with exit 2 and say why; never the password */
    snprintf(path, sizeof path, "%s/open.credentials", dir);
    write_file(path, "service:" SECRET "\n", 0644);
    char env_creds[300];
    snprintf(env_creds, sizeof env_creds, "JOULETRACE_NATS_CREDENTIALS_FILE=%s", path);
    const char *vars[] = {"JOULETRACE_NATS_URL=nats://127.0.0.1:1", env_creds, NULL};
    char *broker[] = {JT_BROKER_BIN, "init", NULL};
    char *gateway[] = {JT_GATEWAY_BIN, NULL};
    char *const *programs[] = {broker, gateway};
    for (size_t i = 0; i < 2; i++) {
        int rc = run_program(programs[i], vars, dir, out, sizeof out);
        if (rc != 2 || strstr(out, "chmod 600") == NULL || strstr(out, SECRET) != NULL)
            fail_msg("%s: exit %d: %s", programs[i][0], rc, out);
    }

    /* a URL with credentials next to a file: refused; alone: a warning, no secret shown */
    write_file(path, "service:" SECRET "\n", 0600);
    const char *both[] = {"JOULETRACE_NATS_URL=nats://service:" SECRET "@127.0.0.1:1", env_creds,
                          NULL};
    int rc = run_program(broker, both, dir, out, sizeof out);
    if (rc != 2 || strstr(out, "carries credentials") == NULL || strstr(out, SECRET) != NULL)
        fail_msg("URL and file: exit %d: %s", rc, out);
    const char *url_only[] = {"JOULETRACE_NATS_URL=nats://service:" SECRET "@127.0.0.1:1", NULL};
    rc = run_program(broker, url_only, dir, out, sizeof out);
    if (rc != 1 || strstr(out, JT_NATS_CREDENTIALS_ENV) == NULL || strstr(out, SECRET) != NULL)
        fail_msg("URL only: exit %d: %s", rc, out);
}

/* URL helpers: userinfo found in any server of a list, redacted everywhere. */
static void url_credentials_rules(void **state)
{
    (void)state;
    char out[256];
    assert_false(jt_nats_url_has_userinfo("nats://127.0.0.1:4222"));
    assert_false(jt_nats_url_has_userinfo("nats://a:4222,nats://b:4223/x@y"));
    assert_true(jt_nats_url_has_userinfo("nats://u:p@127.0.0.1:4222"));
    assert_true(jt_nats_url_has_userinfo("nats://a:4222, nats://token@b:4223"));
    assert_true(jt_nats_url_has_userinfo("u:p@host:4222"));
    jt_nats_url_redact("nats://u:p@a:1,nats://b:2,tls://x:y@c:3", out, sizeof out);
    assert_string_equal(out, "nats://***@a:1,nats://b:2,tls://***@c:3");
    jt_nats_url_redact("nats://u:p@w@a:1", out, sizeof out);
    assert_string_equal(out, "nats://***@a:1");
    jt_nats_url_redact("nats://u:p@a:1", out, 8);
    assert_string_equal(out, "nats://");

    jt_nats_credentials_t c;
    jt_error_t err;
    assert_int_equal(jt_nats_auth_prepare("nats://127.0.0.1:1", NULL, &c, &err), JT_OK);
    assert_false(c.set);
    assert_int_equal(jt_nats_auth_prepare("nats://u:" SECRET "@h:1", "", &c, &err), JT_OK);
    assert_false(c.set);
    assert_int_equal(jt_nats_auth_prepare("nats://u:" SECRET "@h:1", "/nonexistent", &c, &err),
                     JT_ERR_CONFIG);
    assert_string_equal(err.path, "JOULETRACE_NATS_URL");
    assert_null(strstr(err.message, SECRET));
    assert_non_null(strstr(err.message, "nats://***@h:1"));
}

/* ---- (c) the client user: exactly what README documents for direct users --------------- */

static atomic_int denied;

static void on_error(natsConnection *nc, natsSubscription *sub, natsStatus s, void *closure)
{
    (void)nc;
    (void)sub;
    (void)closure;
    if (s == NATS_NOT_PERMITTED)
        atomic_fetch_add(&denied, 1);
}

static void wait_denied(int before)
{
    double deadline = jt_nats_now() + 3.0;
    while (atomic_load(&denied) == before && jt_nats_now() < deadline)
        jt_nats_sleep_ms(10);
    assert_true(atomic_load(&denied) > before);
}

/* A client connection as jouletrace-direct-client makes it: default _INBOX, credentials file. */
static void client_connect(const jt_nats_auth_t *a, natsConnection **nc, jsCtx **js)
{
    natsOptions *o = NULL;
    jsOptions jo;
    jt_nats_credentials_t c;
    load_creds(a->client_creds, &c);
    assert_string_equal(c.user, "client");
    assert_int_equal(natsOptions_Create(&o), NATS_OK);
    assert_int_equal(natsOptions_SetURL(o, a->srv.url), NATS_OK);
    assert_int_equal(jt_nats_credentials_apply(o, &c), NATS_OK);
    assert_int_equal(natsOptions_SetErrorHandler(o, on_error, NULL), NATS_OK);
    assert_int_equal(natsConnection_Connect(nc, o), NATS_OK);
    natsOptions_Destroy(o);
    jt_nats_credentials_wipe(&c);
    jsOptions_Init(&jo);
    jo.Wait = 1000; /* a denied JetStream request shows up as a timeout */
    assert_int_equal(natsConnection_JetStream(js, *nc, &jo), NATS_OK);
}

static void client_user_permissions(void **state)
{
    jt_nats_auth_t *a = *state;
    jt_nats_credentials_t sc;
    jt_bus_t svc;
    jt_error_t err;
    jsErrCode jerr = 0;
    load_creds(a->service_creds, &sc);
    if (jt_bus_connect_auth(a->srv.url, &sc, "service", NULL, &svc, &err) != JT_OK)
        fail_msg("service: %s", err.message);
    jt_nats_credentials_wipe(&sc);
    natsConnection *cl = NULL;
    jsCtx *cljs = NULL;
    client_connect(a, &cl, &cljs);

    natsSubscription *cancel_sub = NULL, *validate_sub = NULL, *forged_sub = NULL;
    listen_as_workers(&svc, &cancel_sub, &validate_sub);
    assert_int_equal(natsConnection_SubscribeSync(&forged_sub, svc.nc, "jouletrace.progress.>"),
                     NATS_OK);
    assert_int_equal(natsConnection_Flush(svc.nc), NATS_OK);

    /* allowed: subscribe to its task's progress and result, then publish the job */
    natsSubscription *progress = NULL, *result = NULL;
    assert_int_equal(natsConnection_SubscribeSync(&progress, cl, JT_SUBJECT_PROGRESS_PREFIX "c-1"),
                     NATS_OK);
    assert_int_equal(natsConnection_SubscribeSync(&result, cl, JT_SUBJECT_RESULT_PREFIX "c-1"),
                     NATS_OK);
    assert_int_equal(natsConnection_Flush(cl), NATS_OK);
    natsMsg *job = NULL;
    jsPubAck *ack = NULL;
    assert_int_equal(natsMsg_Create(&job, JT_SUBJECT_JOBS, NULL, "job", 3), NATS_OK);
    assert_int_equal(natsMsgHeader_Set(job, "Nats-Msg-Id", "c-1"), NATS_OK);
    assert_int_equal(js_PublishMsg(&ack, cljs, job, NULL, &jerr), NATS_OK);
    assert_string_equal(ack->Stream, JT_STREAM_JOBS);
    jsPubAck_Destroy(ack);
    natsMsg_Destroy(job);
    assert_int_equal(jt_bus_pending_jobs(&svc), 1);
    natsMsg *m = NULL;
    assert_int_equal(natsConnection_PublishString(svc.nc, JT_SUBJECT_PROGRESS_PREFIX "c-1", "p"),
                     NATS_OK);
    assert_int_equal(natsConnection_PublishString(svc.nc, JT_SUBJECT_RESULT_PREFIX "c-1", "r"),
                     NATS_OK);
    assert_int_equal(natsSubscription_NextMsg(&m, progress, 3000), NATS_OK);
    natsMsg_Destroy(m);
    assert_int_equal(natsSubscription_NextMsg(&m, forged_sub, 3000), NATS_OK); /* the service's */
    natsMsg_Destroy(m);
    assert_int_equal(natsSubscription_NextMsg(&m, result, 3000), NATS_OK);
    natsMsg_Destroy(m);

    /* allowed: hear the rejections (a job without a usable id), which the service sends */
    natsSubscription *rejected = NULL;
    assert_int_equal(natsConnection_SubscribeSync(&rejected, cl, JT_SUBJECT_REJECTED_ALL), NATS_OK);
    assert_int_equal(natsConnection_Flush(cl), NATS_OK);
    assert_int_equal(natsConnection_PublishString(svc.nc, JT_SUBJECT_REJECTED_PREFIX "7", "x"),
                     NATS_OK);
    assert_int_equal(natsSubscription_NextMsg(&m, rejected, 3000), NATS_OK);
    natsMsg_Destroy(m);
    natsSubscription_Destroy(rejected);

    /* allowed: read the task's record from KV */
    json_t *rec = jt_task_record_new("c-1", JT_TASK_MEASURING);
    assert_int_equal(jt_task_put(svc.tasks, "c-1", rec, 0, NULL, &err), JT_OK);
    json_decref(rec);
    kvStore *tasks = NULL;
    assert_int_equal(js_KeyValue(&tasks, cljs, JT_KV_TASKS), NATS_OK);
    json_t *back = NULL;
    assert_int_equal(jt_task_get(tasks, "c-1", &back, NULL, &err), JT_OK);
    assert_string_equal(json_string_value(json_object_get(back, "status")), "measuring");
    json_decref(back);

    /* allowed: cancel (the flag, then the subject) */
    kvStore *cancels = NULL;
    assert_int_equal(js_KeyValue(&cancels, cljs, JT_KV_CANCELS), NATS_OK);
    assert_int_equal(kvStore_PutString(NULL, cancels, "c-1", "1"), NATS_OK);
    kvEntry *e = NULL;
    assert_int_equal(kvStore_Get(&e, svc.cancels, "c-1"), NATS_OK);
    kvEntry_Destroy(e);
    assert_int_equal(natsConnection_PublishString(cl, JT_SUBJECT_CANCEL_PREFIX "c-1", ""), NATS_OK);
    assert_int_equal(natsSubscription_NextMsg(&m, cancel_sub, 3000), NATS_OK);
    natsMsg_Destroy(m);

    /* allowed: validate, request/reply */
    assert_int_equal(natsConnection_RequestString(&m, cl, JT_SUBJECT_VALIDATE, "{}", 3000),
                     NATS_OK);
    assert_non_null(strstr(natsMsg_GetData(m), "validation"));
    natsMsg_Destroy(m);

    /* refused: delete or purge the jobs stream (it keeps its job) */
    assert_int_not_equal(js_DeleteStream(cljs, JT_STREAM_JOBS, NULL, &jerr), NATS_OK);
    assert_int_not_equal(js_PurgeStream(cljs, JT_STREAM_JOBS, NULL, &jerr), NATS_OK);
    assert_int_equal(jt_bus_pending_jobs(&svc), 1);

    /* refused: the workers bucket (binding and a raw put), the tasks bucket's writes, leases */
    kvStore *workers = NULL;
    assert_int_not_equal(js_KeyValue(&workers, cljs, JT_KV_WORKERS), NATS_OK);
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 1000;
    assert_int_not_equal(
        js_Publish(NULL, cljs, "$KV." JT_KV_WORKERS ".forged", "{}", 2, &po, &jerr), NATS_OK);
    assert_int_equal(kvStore_Get(&e, svc.workers, "forged"), NATS_NOT_FOUND);
    assert_int_not_equal(kvStore_PutString(NULL, tasks, "c-1", "{}"), NATS_OK);
    assert_int_not_equal(
        js_Publish(NULL, cljs, "$KV." JT_KV_LEASES ".h.socket0", "x", 1, &po, &jerr), NATS_OK);

    /* refused: internal subjects (forged progress, the services' inbox, the jobs consumer) */
    int before = atomic_load(&denied);
    natsConnection_PublishString(cl, JT_SUBJECT_PROGRESS_PREFIX "c-1", "forged");
    natsConnection_Flush(cl);
    wait_denied(before);
    assert_int_equal(natsSubscription_NextMsg(&m, forged_sub, 300), NATS_TIMEOUT);
    before = atomic_load(&denied);
    natsConnection_PublishString(cl, JT_SUBJECT_RESULT_PREFIX "c-1", "forged");
    natsConnection_Flush(cl);
    wait_denied(before);
    before = atomic_load(&denied);
    natsSubscription *spy = NULL;
    assert_int_equal(natsConnection_SubscribeSync(&spy, cl, JT_INBOX_PREFIX ".>"), NATS_OK);
    natsConnection_Flush(cl);
    wait_denied(before);
    natsSubscription_Destroy(spy);
    before = atomic_load(&denied);
    assert_int_equal(natsConnection_SubscribeSync(&spy, cl, JT_SUBJECT_VALIDATE), NATS_OK);
    natsConnection_Flush(cl);
    wait_denied(before);
    natsSubscription_Destroy(spy);
    assert_int_not_equal(natsConnection_RequestString(&m, cl,
                                                      "$JS.API.CONSUMER.MSG.NEXT." JT_STREAM_JOBS
                                                      "." JT_CONSUMER_WORKERS,
                                                      "{\"batch\":1}", 500),
                         NATS_OK);
    assert_int_equal(jt_bus_pending_jobs(&svc), 1);

    kvStore_Destroy(cancels);
    kvStore_Destroy(tasks);
    natsSubscription_Destroy(result);
    natsSubscription_Destroy(progress);
    natsSubscription_Destroy(forged_sub);
    natsSubscription_Destroy(validate_sub);
    natsSubscription_Destroy(cancel_sub);
    jsCtx_Destroy(cljs);
    natsConnection_Destroy(cl);
    jt_bus_close(&svc);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(service_user_works, setup_server, teardown_server),
    cmocka_unit_test_setup_teardown(credentials_file_refused, setup_dir, teardown_dir),
    cmocka_unit_test(url_credentials_rules),
    cmocka_unit_test_setup_teardown(client_user_permissions, setup_server, teardown_server),
};

JT_UNIT_MAIN(tests)
