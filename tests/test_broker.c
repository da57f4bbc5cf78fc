/* test_broker.c -- broker/ configs (checked and run), per-role permissions, and jouletrace-broker
 * init|status. */
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit_main.h"

#include "bus.h"
#include "bus_names.h"
#include "nats_server.h"
#include "task_state.h"

#ifndef JT_BROKER_DIR
#error "JT_BROKER_DIR (the repository's broker/ folder) must be defined by the build"
#endif
#ifndef JT_BROKER_BIN
#error "JT_BROKER_BIN (the jouletrace-broker executable) must be defined by the build"
#endif

static void set_auth_env(void)
{
    setenv("JOULETRACE_NATS_ADMIN_PASSWORD", "admin-pw", 1);
    setenv("JOULETRACE_NATS_GATEWAY_PASSWORD", "gateway-pw", 1);
    setenv("JOULETRACE_NATS_WORKER_PASSWORD", "worker-pw", 1);
    setenv("JOULETRACE_NATS_CLIENT_PASSWORD", "client-pw", 1);
}

/* Run argv with extra environment entries ("NAME=value", NULL-terminated);
 * stdout+stderr into out. Returns the exit status (or -1). */
static int run_program(const char *const *argv, const char *const *env, char *out, size_t len,
                       double *seconds)
{
    char path[] = "/tmp/jt-broker-out-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    /* Built before fork: nats.c threads may be running in this process. */
    const char *envp[256];
    size_t k = 0;
    for (const char *const *e = env; e != NULL && *e != NULL && k < 64; e++)
        envp[k++] = *e;
    size_t extra = k;
    for (char **e = environ; *e != NULL && k < 255; e++) {
        int shadowed = 0;
        for (size_t i = 0; i < extra; i++) {
            size_t name = strcspn(envp[i], "=");
            shadowed |= strncmp(*e, envp[i], name + 1) == 0;
        }
        if (!shadowed)
            envp[k++] = *e;
    }
    envp[k] = NULL;
    double t0 = jt_nats_now();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        execve(argv[0], (char *const *)argv, (char *const *)envp);
        execvpe(argv[0], (char *const *)argv, (char *const *)envp);
        _exit(127);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (seconds != NULL)
        *seconds = jt_nats_now() - t0;
    ssize_t n = pread(fd, out, len - 1, 0);
    out[n > 0 ? n : 0] = '\0';
    close(fd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* `nats-server -c FILE -t` with the variables the configs reference. */
static void check_config(const char *file)
{
    char path[512], out[4096];
    snprintf(path, sizeof path, "%s/%s", JT_BROKER_DIR, file);
    set_auth_env();
    setenv("JOULETRACE_JETSTREAM_DIR", "/tmp/jt-config-check", 1);
    const char *argv[] = {jt_nats_server_binary(), "-c", path, "-t", NULL};
    int rc = run_program(argv, NULL, out, sizeof out, NULL);
    if (rc != 0)
        fail_msg("%s: exit %d: %s", file, rc, out);
    assert_non_null(strstr(out, "valid"));
}

static void config_single_node(void **state)
{
    (void)state;
    check_config("nats-server.conf");
}

static void config_auth(void **state)
{
    (void)state;
    check_config("nats-server-auth.conf");
}

static void config_cluster_1(void **state)
{
    (void)state;
    check_config("cluster/nats-1.conf");
}

static void config_cluster_2(void **state)
{
    (void)state;
    check_config("cluster/nats-2.conf");
}

static void config_cluster_3(void **state)
{
    (void)state;
    check_config("cluster/nats-3.conf");
}

/* The single-node config really runs, and takes a job of the maximum size. */
static void single_node_config_serves(void **state)
{
    (void)state;
    jt_nats_server_t srv;
    jt_bus_t bus;
    jt_error_t err;
    assert_int_equal(jt_nats_server_start_config(&srv, JT_BROKER_DIR "/nats-server.conf"), 0);
    if (jt_bus_connect(srv.url, "test", NULL, &bus, &err) != JT_OK)
        fail_msg("%s", err.message);
    size_t big = 4 * 1024 * 1024;
    char *job = calloc(1, JT_JOBS_MAX_MSG_BYTES + 1);
    assert_non_null(job);
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = "big";
    assert_int_equal(js_Publish(NULL, bus.js, JT_SUBJECT_JOBS, job, (int)big, &po, NULL), NATS_OK);
    po.MsgId = "too-big";
    assert_int_not_equal(
        js_Publish(NULL, bus.js, JT_SUBJECT_JOBS, job, JT_JOBS_MAX_MSG_BYTES + 1, &po, NULL),
        NATS_OK);
    assert_int_equal(jt_bus_pending_jobs(&bus), 1);
    free(job);
    jt_bus_close(&bus);
    jt_nats_server_stop(&srv);
}

/* ---- roles of nats-server-auth.conf -------------------------------------- */

static atomic_int denied; /* permission violations reported to the client */

static void on_error(natsConnection *nc, natsSubscription *sub, natsStatus s, void *closure)
{
    (void)nc;
    (void)sub;
    (void)closure;
    if (s == NATS_NOT_PERMITTED)
        atomic_fetch_add(&denied, 1);
}

static void url_for(char *buf, size_t len, const jt_nats_server_t *srv, const char *user,
                    const char *pw)
{
    snprintf(buf, len, "nats://%s:%s@127.0.0.1:%d", user, pw, srv->client_port);
}

/* A connection with the default "_INBOX" prefix, as an external client has. */
static void client_connect(const char *url, natsConnection **nc, jsCtx **js)
{
    natsOptions *o = NULL;
    jsOptions jo;
    assert_int_equal(natsOptions_Create(&o), NATS_OK);
    assert_int_equal(natsOptions_SetURL(o, url), NATS_OK);
    assert_int_equal(natsOptions_SetErrorHandler(o, on_error, NULL), NATS_OK);
    assert_int_equal(natsConnection_Connect(nc, o), NATS_OK);
    natsOptions_Destroy(o);
    jsOptions_Init(&jo);
    jo.Wait = 500; /* a denied JetStream request shows up as a timeout */
    assert_int_equal(natsConnection_JetStream(js, *nc, &jo), NATS_OK);
}

static void wait_denied(int before)
{
    double deadline = jt_nats_now() + 3.0;
    while (atomic_load(&denied) == before && jt_nats_now() < deadline)
        jt_nats_sleep_ms(10);
    assert_true(atomic_load(&denied) > before);
}

static void on_validate(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)sub;
    (void)closure;
    natsConnection_PublishString(nc, natsMsg_GetReply(msg), "valid");
    natsMsg_Destroy(msg);
}

static int setup_auth(void **state)
{
    jt_nats_server_t *srv = calloc(1, sizeof *srv);
    assert_non_null(srv);
    set_auth_env();
    assert_int_equal(jt_nats_server_start_config(srv, JT_BROKER_DIR "/nats-server-auth.conf"), 0);
    *state = srv;
    return 0;
}

static int teardown_auth(void **state)
{
    jt_nats_server_t *srv = *state;
    jt_nats_server_stop(srv);
    free(srv);
    return 0;
}

/* Every role can do its whole job with only its own permissions. */
static void auth_roles_work(void **state)
{
    jt_nats_server_t *srv = *state;
    char url[256], out[8192];
    jt_bus_t gw, wk;
    jt_error_t err;
    jsErrCode jerr = 0;

    /* The gateway is the first to connect: it can create the whole topology. */
    url_for(url, sizeof url, srv, "gateway", "gateway-pw");
    if (jt_bus_connect(url, "gateway", NULL, &gw, &err) != JT_OK)
        fail_msg("gateway: %s", err.message);
    url_for(url, sizeof url, srv, "worker", "worker-pw");
    if (jt_bus_connect(url, "worker", NULL, &wk, &err) != JT_OK)
        fail_msg("worker: %s", err.message);
    natsConnection *cl = NULL;
    jsCtx *cljs = NULL;
    url_for(url, sizeof url, srv, "client", "client-pw");
    client_connect(url, &cl, &cljs);

    /* jobs from the client and the gateway */
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = "c-1";
    assert_int_equal(js_Publish(NULL, cljs, JT_SUBJECT_JOBS, "a", 1, &po, &jerr), NATS_OK);
    po.MsgId = "g-1";
    assert_int_equal(js_Publish(NULL, gw.js, JT_SUBJECT_JOBS, "b", 1, &po, &jerr), NATS_OK);
    assert_int_equal(jt_bus_pending_jobs(&gw), 2);

    /* gateway: task state */
    json_t *rec = jt_task_record_new("g-1", JT_TASK_QUEUED);
    uint64_t rev = 0;
    assert_int_equal(jt_task_put(gw.tasks, "g-1", rec, 0, &rev, &err), JT_OK);
    assert_int_equal(kvStore_PutString(NULL, gw.idempotency, "k1", "g-1"), NATS_OK);
    assert_int_equal(kvStore_PutString(NULL, gw.cancels, "g-1", "1"), NATS_OK);

    /* progress and results reach the gateway and the client */
    natsSubscription *gsub = NULL, *csub = NULL, *wcancel = NULL, *wval = NULL;
    assert_int_equal(natsConnection_SubscribeSync(&gsub, gw.nc, JT_SUBJECT_PROGRESS_PREFIX "g-1"),
                     NATS_OK);
    assert_int_equal(natsConnection_SubscribeSync(&csub, cl, JT_SUBJECT_RESULT_PREFIX "g-1"),
                     NATS_OK);
    assert_int_equal(natsConnection_SubscribeSync(&wcancel, wk.nc, JT_SUBJECT_CANCEL_PREFIX ">"),
                     NATS_OK);
    assert_int_equal(natsConnection_QueueSubscribe(&wval, wk.nc, JT_SUBJECT_VALIDATE,
                                                   JT_QUEUE_WORKERS, on_validate, NULL),
                     NATS_OK);
    assert_int_equal(natsConnection_Flush(gw.nc), NATS_OK);
    assert_int_equal(natsConnection_Flush(cl), NATS_OK);
    assert_int_equal(natsConnection_Flush(wk.nc), NATS_OK);

    /* worker: fetch and ack both jobs, write state, lease, heartbeat */
    natsSubscription *pull = NULL;
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = JT_STREAM_JOBS;
    so.Consumer = JT_CONSUMER_WORKERS;
    assert_int_equal(
        js_PullSubscribe(&pull, wk.js, JT_SUBJECT_JOBS_ALL, JT_CONSUMER_WORKERS, NULL, &so, &jerr),
        NATS_OK);
    natsMsgList list = {0};
    assert_int_equal(natsSubscription_Fetch(&list, pull, 2, 3000, &jerr), NATS_OK);
    assert_int_equal(list.Count, 2);
    for (int i = 0; i < list.Count; i++)
        assert_int_equal(natsMsg_AckSync(list.Msgs[i], NULL, &jerr), NATS_OK);
    natsMsgList_Destroy(&list);
    assert_int_equal(jt_bus_pending_jobs(&wk), 0);
    jt_task_record_set_status(rec, JT_TASK_COMPLETED);
    assert_int_equal(jt_task_put(wk.tasks, "g-1", rec, rev, NULL, &err), JT_OK);
    uint64_t lrev = 0;
    assert_int_equal(kvStore_CreateString(&lrev, wk.leases, "h.socket0", "w"), NATS_OK);
    assert_int_equal(kvStore_UpdateString(&lrev, wk.leases, "h.socket0", "w", lrev), NATS_OK);
    assert_int_equal(kvStore_PutString(NULL, wk.workers, "w1", "{}"), NATS_OK);
    kvEntry *e = NULL;
    assert_int_equal(kvStore_Get(&e, wk.cancels, "g-1"), NATS_OK);
    kvEntry_Destroy(e);
    natsMsg *del = NULL;
    assert_int_equal(natsMsg_Create(&del, "$KV." JT_KV_LEASES ".h.socket0", NULL, NULL, 0),
                     NATS_OK);
    assert_int_equal(natsMsgHeader_Set(del, "KV-Operation", "DEL"), NATS_OK);
    jsPubOptions_Init(&po);
    po.ExpectLastSubjectSeq = lrev;
    assert_int_equal(js_PublishMsg(NULL, wk.js, del, &po, &jerr), NATS_OK);
    natsMsg_Destroy(del);
    assert_int_equal(natsConnection_PublishString(wk.nc, JT_SUBJECT_PROGRESS_PREFIX "g-1", "p"),
                     NATS_OK);
    assert_int_equal(natsConnection_PublishString(wk.nc, JT_SUBJECT_RESULT_PREFIX "g-1", "r"),
                     NATS_OK);
    natsMsg *m = NULL;
    assert_int_equal(natsSubscription_NextMsg(&m, gsub, 3000), NATS_OK);
    natsMsg_Destroy(m);
    assert_int_equal(natsSubscription_NextMsg(&m, csub, 3000), NATS_OK);
    natsMsg_Destroy(m);

    /* gateway: reads the record back, the lease (gone), lists heartbeats, cancels, validates */
    json_t *back = NULL;
    assert_int_equal(jt_task_get(gw.tasks, "g-1", &back, NULL, &err), JT_OK);
    assert_string_equal(json_string_value(json_object_get(back, "status")), "completed");
    json_decref(back);
    assert_int_equal(kvStore_Get(&e, gw.leases, "h.socket0"), NATS_NOT_FOUND);
    kvKeysList keys = {0};
    assert_int_equal(kvStore_Keys(&keys, gw.workers, NULL), NATS_OK);
    assert_int_equal(keys.Count, 1);
    kvKeysList_Destroy(&keys);
    assert_int_equal(natsConnection_PublishString(gw.nc, JT_SUBJECT_CANCEL_PREFIX "g-1", ""),
                     NATS_OK);
    assert_int_equal(natsSubscription_NextMsg(&m, wcancel, 3000), NATS_OK);
    natsMsg_Destroy(m);
    assert_int_equal(natsConnection_RequestString(&m, gw.nc, JT_SUBJECT_VALIDATE, "{}", 3000),
                     NATS_OK);
    assert_string_equal(natsMsg_GetData(m), "valid");
    natsMsg_Destroy(m);

    /* admin: jouletrace-broker status */
    char env_url[300];
    snprintf(env_url, sizeof env_url, "JOULETRACE_NATS_URL=nats://admin:admin-pw@127.0.0.1:%d",
             srv->client_port);
    const char *env[] = {env_url, NULL};
    const char *argv[] = {JT_BROKER_BIN, "status", NULL};
    int rc = run_program(argv, env, out, sizeof out, NULL);
    if (rc != 0)
        fail_msg("status as admin: exit %d: %s", rc, out);
    assert_null(strstr(out, "admin-pw"));

    json_decref(rec);
    natsSubscription_Destroy(pull);
    natsSubscription_Destroy(wval);
    natsSubscription_Destroy(wcancel);
    natsSubscription_Destroy(csub);
    natsSubscription_Destroy(gsub);
    jsCtx_Destroy(cljs);
    natsConnection_Destroy(cl);
    jt_bus_close(&wk);
    jt_bus_close(&gw);
}

/* What each role must not do is refused. */
static void auth_denials(void **state)
{
    jt_nats_server_t *srv = *state;
    char url[256];
    jt_bus_t gw, wk;
    jt_error_t err;
    jsErrCode jerr = 0;

    url_for(url, sizeof url, srv, "gateway", "gateway-pw");
    assert_int_equal(jt_bus_connect(url, "gateway", NULL, &gw, &err), JT_OK);
    url_for(url, sizeof url, srv, "worker", "worker-pw");
    assert_int_equal(jt_bus_connect(url, "worker", NULL, &wk, &err), JT_OK);
    natsConnection *cl = NULL;
    jsCtx *cljs = NULL;
    url_for(url, sizeof url, srv, "client", "client-pw");
    client_connect(url, &cl, &cljs);

    /* client (nats-client-permissions.conf, test_bus_auth has it in full): no task-state
     * writes, no stream management, no services' replies, no forged records */
    jsStreamInfo *si = NULL;
    assert_int_not_equal(js_GetStreamInfo(&si, cljs, "KV_" JT_KV_LEASES, NULL, NULL), NATS_OK);
    assert_int_not_equal(js_Publish(NULL, cljs, "$KV." JT_KV_TASKS ".x", "{}", 2, NULL, &jerr),
                         NATS_OK);
    assert_int_not_equal(js_DeleteStream(cljs, JT_STREAM_JOBS, NULL, &jerr), NATS_OK);
    int before = atomic_load(&denied);
    natsSubscription *sub = NULL;
    assert_int_equal(natsConnection_SubscribeSync(&sub, cl, "_JT_INBOX.>"), NATS_OK);
    natsConnection_Flush(cl);
    wait_denied(before);
    natsSubscription_Destroy(sub);
    before = atomic_load(&denied);
    natsConnection_PublishString(cl, JT_SUBJECT_PROGRESS_PREFIX "x", "forged");
    natsConnection_Flush(cl);
    wait_denied(before);
    before = atomic_load(&denied);
    natsConnection_PublishString(cl, JT_SUBJECT_RESULT_PREFIX "x", "forged");
    natsConnection_Flush(cl);
    wait_denied(before);

    /* gateway: cannot take jobs off the queue or delete the stream */
    natsMsg *m = NULL;
    assert_int_not_equal(natsConnection_RequestString(&m, gw.nc,
                                                      "$JS.API.CONSUMER.MSG.NEXT." JT_STREAM_JOBS
                                                      "." JT_CONSUMER_WORKERS,
                                                      "{\"batch\":1}", 500),
                         NATS_OK);
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = 500;
    assert_int_not_equal(js_DeleteStream(gw.js, JT_STREAM_JOBS, &jo, &jerr), NATS_OK);
    assert_int_not_equal(js_DeleteStream(gw.js, "KV_" JT_KV_TASKS, &jo, &jerr), NATS_OK);

    /* worker: cannot submit jobs or touch idempotency keys */
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 500;
    assert_int_not_equal(js_Publish(NULL, wk.js, JT_SUBJECT_JOBS, "x", 1, &po, &jerr), NATS_OK);
    assert_int_not_equal(js_Publish(NULL, wk.js, "$KV." JT_KV_IDEMPOTENCY ".k", "x", 1, &po, &jerr),
                         NATS_OK);

    /* wrong password */
    jt_bus_t bad;
    snprintf(url, sizeof url, "nats://gateway:wrong@127.0.0.1:%d", srv->client_port);
    assert_int_not_equal(jt_bus_connect(url, "gateway", NULL, &bad, &err), JT_OK);
    assert_null(strstr(err.message, "wrong"));

    jsCtx_Destroy(cljs);
    natsConnection_Destroy(cl);
    jt_bus_close(&wk);
    jt_bus_close(&gw);
}

/* ---- jouletrace-broker ---------------------------------------------------- */

static void cli_init_then_status(void **state)
{
    (void)state;
    jt_nats_server_t srv;
    char env_url[128], out[16384];
    assert_int_equal(jt_nats_server_start(&srv), 0);
    snprintf(env_url, sizeof env_url, "JOULETRACE_NATS_URL=%s", srv.url);
    const char *env[] = {env_url, NULL};
    const char *status[] = {JT_BROKER_BIN, "status", NULL};
    const char *init[] = {JT_BROKER_BIN, "init", NULL};

    /* nothing yet: status says what is missing and exits 2 */
    assert_int_equal(run_program(status, env, out, sizeof out, NULL), 2);
    assert_non_null(strstr(out, "MISSING stream " JT_STREAM_JOBS));
    assert_non_null(strstr(out, "jouletrace-broker init"));

    for (int i = 0; i < 2; i++) { /* idempotent */
        int rc = run_program(init, env, out, sizeof out, NULL);
        if (rc != 0)
            fail_msg("init: exit %d: %s", rc, out);
    }
    const char *expect[] = {JT_STREAM_JOBS,    JT_CONSUMER_WORKERS, JT_KV_TASKS,
                            JT_KV_LEASES,      JT_KV_WORKERS,       JT_KV_CANCELS,
                            JT_KV_IDEMPOTENCY, "Pending jobs: 0"};
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++)
        assert_non_null(strstr(out, expect[i]));

    /* a pending job shows in status */
    jt_bus_t bus;
    jt_error_t err;
    assert_int_equal(jt_bus_connect(srv.url, "test", NULL, &bus, &err), JT_OK);
    assert_int_equal(js_Publish(NULL, bus.js, JT_SUBJECT_JOBS, "j", 1, NULL, NULL), NATS_OK);
    jt_bus_close(&bus);
    int rc = run_program(status, env, out, sizeof out, NULL);
    if (rc != 0)
        fail_msg("status: exit %d: %s", rc, out);
    assert_non_null(strstr(out, "Pending jobs: 1"));
    assert_non_null(strstr(out, "pending=1"));
    assert_non_null(strstr(out, "ack_pending=0"));
    assert_non_null(strstr(out, "redelivered=0"));
    assert_non_null(strstr(out, "Topology complete"));
    jt_nats_server_stop(&srv);
}

static void cli_status_unreachable(void **state)
{
    (void)state;
    char out[4096];
    double seconds = 0;
    const char *env[] = {"JOULETRACE_NATS_URL=nats://127.0.0.1:1", NULL};
    const char *status[] = {JT_BROKER_BIN, "status", NULL};
    assert_int_equal(run_program(status, env, out, sizeof out, &seconds), 1);
    assert_true(seconds < 5.0);
    assert_non_null(strstr(out, "cannot reach NATS at nats://127.0.0.1:1"));
    const char *init[] = {JT_BROKER_BIN, "init", NULL};
    assert_int_equal(run_program(init, env, out, sizeof out, &seconds), 1);
    assert_true(seconds < 5.0);
    assert_non_null(strstr(out, "cannot connect to NATS"));
}

static void cli_usage(void **state)
{
    (void)state;
    char out[4096];
    const char *none[] = {JT_BROKER_BIN, NULL};
    const char *bad[] = {JT_BROKER_BIN, "frobnicate", NULL};
    const char *help[] = {JT_BROKER_BIN, "--help", NULL};
    assert_int_equal(run_program(none, NULL, out, sizeof out, NULL), 64);
    assert_non_null(strstr(out, "usage: jouletrace-broker init|status"));
    assert_int_equal(run_program(bad, NULL, out, sizeof out, NULL), 64);
    assert_int_equal(run_program(help, NULL, out, sizeof out, NULL), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(config_single_node),
    cmocka_unit_test(config_auth),
    cmocka_unit_test(config_cluster_1),
    cmocka_unit_test(config_cluster_2),
    cmocka_unit_test(config_cluster_3),
    cmocka_unit_test(single_node_config_serves),
    cmocka_unit_test_setup_teardown(auth_roles_work, setup_auth, teardown_auth),
    cmocka_unit_test_setup_teardown(auth_denials, setup_auth, teardown_auth),
    cmocka_unit_test(cli_init_then_status),
    cmocka_unit_test(cli_status_unreachable),
    cmocka_unit_test(cli_usage),
};

JT_UNIT_MAIN(tests)
