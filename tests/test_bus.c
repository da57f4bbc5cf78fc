/* test_bus.c -- the bus (shared/bus): topology, jobs and connection failures, on a nats-server. */
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unit_main.h"

#include "bus.h"
#include "bus_names.h"
#include "bus_fixture.h"
#include "nats_server.h"
#include "task_state.h"

/* A plain connection and JetStream context (wait_ms for API requests). */
static void raw_connect(const char *url, int64_t wait_ms, natsConnection **nc, jsCtx **js)
{
    jsOptions jo;
    assert_int_equal(natsConnection_ConnectTo(nc, url), NATS_OK);
    jsOptions_Init(&jo);
    jo.Wait = wait_ms;
    assert_int_equal(natsConnection_JetStream(js, *nc, &jo), NATS_OK);
}

static double now_s(void)
{
    return jt_nats_now();
}

/* ---- topology ---------------------------------------------------------- */

static void topology_idempotent(void **state)
{
    bus_fixture_t *f = *state;
    jt_topology_opts_t o;
    jt_error_t err;
    jt_topology_opts_init(&o);
    /* jt_bus_connect ensured once already; twice more changes nothing. */
    assert_int_equal(jt_topology_ensure(f->bus.js, &o, &err), JT_OK);
    assert_int_equal(jt_topology_ensure(f->bus.js, &o, &err), JT_OK);

    jsStreamNamesList *names = NULL;
    assert_int_equal(js_StreamNames(&names, f->bus.js, NULL, NULL), NATS_OK);
    assert_int_equal(names->Count, 9); /* jobs, webhooks + 7 KV buckets */
    jsStreamNamesList_Destroy(names);
    jsConsumerNamesList *cons = NULL;
    assert_int_equal(js_ConsumerNames(&cons, f->bus.js, JT_STREAM_JOBS, NULL, NULL), NATS_OK);
    assert_int_equal(cons->Count, 1);
    assert_string_equal(cons->List[0], JT_CONSUMER_WORKERS);
    jsConsumerNamesList_Destroy(cons);

    /* A second program connecting is just as fine. */
    jt_bus_t other;
    assert_int_equal(jt_bus_connect(f->srv.url, "other", &o, &other, &err), JT_OK);
    jt_bus_close(&other);
}

static void topology_values(void **state)
{
    bus_fixture_t *f = *state;
    jsStreamInfo *si = NULL;
    assert_int_equal(js_GetStreamInfo(&si, f->bus.js, JT_STREAM_JOBS, NULL, NULL), NATS_OK);
    jsStreamConfig *sc = si->Config;
    assert_int_equal(sc->Retention, js_WorkQueuePolicy);
    assert_int_equal(sc->Storage, js_FileStorage);
    assert_int_equal(sc->SubjectsLen, 4); /* jobs, and the batches' three subjects */
    assert_string_equal(sc->Subjects[0], JT_SUBJECT_JOBS);
    assert_string_equal(sc->Subjects[1], JT_SUBJECT_BATCHES);
    assert_string_equal(sc->Subjects[2], JT_SUBJECT_BATCH_GATE);
    assert_string_equal(sc->Subjects[3], JT_SUBJECT_BATCH_BLOCKS);
    assert_int_equal(sc->Duplicates, JT_JOBS_DUPLICATE_WINDOW_NS);
    assert_true(sc->Duplicates >= 120LL * 1000000000);
    assert_int_equal(sc->MaxMsgSize, JT_JOBS_MAX_MSG_BYTES);
    assert_int_equal(sc->MaxMsgs, 100000);
    assert_int_equal(sc->Discard, js_DiscardNew);
    jsStreamInfo_Destroy(si);

    jsConsumerInfo *ci = NULL;
    assert_int_equal(
        js_GetConsumerInfo(&ci, f->bus.js, JT_STREAM_JOBS, JT_CONSUMER_WORKERS, NULL, NULL),
        NATS_OK);
    jsConsumerConfig *cc = ci->Config;
    assert_string_equal(cc->Durable, JT_CONSUMER_WORKERS);
    assert_null(cc->DeliverSubject); /* pull */
    assert_int_equal(cc->AckPolicy, js_AckExplicit);
    assert_int_equal(cc->AckWait, JT_JOBS_ACK_WAIT_NS);
    assert_true(cc->AckWait <= 30LL * 1000000000);
    assert_int_equal(cc->MaxDeliver, JT_JOBS_MAX_DELIVER);
    assert_int_equal(cc->MaxAckPending, 64);
    assert_string_equal(cc->FilterSubject, JT_SUBJECT_JOBS_ALL);
    jsConsumerInfo_Destroy(ci);

    struct {
        kvStore *kv;
        int64_t ttl;
    } kvs[] = {{f->bus.tasks, JT_TASKS_TTL_NS},
               {f->bus.leases, JT_LEASE_TTL_NS},
               {f->bus.workers, JT_HEARTBEAT_TTL_NS},
               {f->bus.cancels, JT_CANCELS_TTL_NS},
               {f->bus.idempotency, JT_IDEMPOTENCY_TTL_NS}};
    for (size_t i = 0; i < sizeof kvs / sizeof kvs[0]; i++) {
        kvStatus *st = NULL;
        assert_non_null(kvs[i].kv);
        assert_int_equal(kvStore_Status(&st, kvs[i].kv), NATS_OK);
        assert_int_equal(kvStatus_TTL(st), kvs[i].ttl);
        assert_int_equal(kvStatus_History(st), 1);
        kvStatus_Destroy(st);
    }
    assert_true(JT_TASKS_TTL_NS >= 24LL * 3600 * 1000000000);
}

/* Different settings on existing objects are applied where NATS allows it. */
static void topology_updates_changed_settings(void **state)
{
    bus_fixture_t *f = *state;
    jt_topology_opts_t o;
    jt_error_t err;
    jt_topology_opts_init(&o);
    o.max_ack_pending = 8;
    o.max_pending_jobs = 10;
    assert_int_equal(jt_topology_ensure(f->bus.js, &o, &err), JT_OK);

    jsConsumerInfo *ci = NULL;
    assert_int_equal(
        js_GetConsumerInfo(&ci, f->bus.js, JT_STREAM_JOBS, JT_CONSUMER_WORKERS, NULL, NULL),
        NATS_OK);
    assert_int_equal(ci->Config->MaxAckPending, 8);
    jsConsumerInfo_Destroy(ci);
    jsStreamInfo *si = NULL;
    assert_int_equal(js_GetStreamInfo(&si, f->bus.js, JT_STREAM_JOBS, NULL, NULL), NATS_OK);
    assert_int_equal(si->Config->MaxMsgs, 10);
    jsStreamInfo_Destroy(si);

    /* A full queue refuses the next job (DiscardNew) instead of dropping an old one. */
    char id[16];
    jsPubOptions po;
    jsErrCode jerr = 0;
    jsPubOptions_Init(&po);
    po.MsgId = id;
    for (int i = 0; i < 10; i++) {
        snprintf(id, sizeof id, "q%d", i);
        assert_int_equal(js_Publish(NULL, f->bus.js, JT_SUBJECT_JOBS, "j", 1, &po, NULL), NATS_OK);
    }
    snprintf(id, sizeof id, "q10");
    assert_int_equal(js_Publish(NULL, f->bus.js, JT_SUBJECT_JOBS, "j", 1, &po, &jerr), NATS_ERR);
    assert_int_equal(jerr, JSStreamStoreFailedErr);
    assert_int_equal(jt_bus_pending_jobs(&f->bus), 10);

    /* Someone changed the lease bucket's TTL by hand: ensure puts it back. */
    assert_int_equal(js_GetStreamInfo(&si, f->bus.js, "KV_" JT_KV_LEASES, NULL, NULL), NATS_OK);
    si->Config->MaxAge = 60LL * 1000000000;
    jsStreamInfo *up = NULL;
    assert_int_equal(js_UpdateStream(&up, f->bus.js, si->Config, NULL, NULL), NATS_OK);
    jsStreamInfo_Destroy(up);
    jsStreamInfo_Destroy(si);
    assert_int_equal(jt_topology_ensure(f->bus.js, &o, &err), JT_OK);
    assert_int_equal(js_GetStreamInfo(&si, f->bus.js, "KV_" JT_KV_LEASES, NULL, NULL), NATS_OK);
    assert_int_equal(si->Config->MaxAge, JT_LEASE_TTL_NS);
    jsStreamInfo_Destroy(si);
}

/* A jobs stream NATS cannot convert (memory storage) is reported by name. */
static void topology_unchangeable_reported(void **state)
{
    bus_fixture_t *f = *state;
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    raw_connect(f->srv.url, 5000, &nc, &js);
    jsStreamConfig sc;
    const char *subjects[] = {JT_SUBJECT_JOBS};
    jsStreamConfig_Init(&sc);
    sc.Name = JT_STREAM_JOBS;
    sc.Subjects = subjects;
    sc.SubjectsLen = 1;
    sc.Storage = js_MemoryStorage;
    jsStreamInfo *si = NULL;
    assert_int_equal(js_AddStream(&si, js, &sc, NULL, NULL), NATS_OK);
    jsStreamInfo_Destroy(si);

    jt_error_t err;
    memset(&err, 0, sizeof err);
    assert_int_equal(jt_topology_ensure(js, NULL, &err), JT_ERR_CONFIG);
    assert_non_null(strstr(err.message, JT_STREAM_JOBS));

    jt_topology_opts_t bad;
    jt_topology_opts_init(&bad);
    bad.max_ack_pending = 0;
    assert_int_equal(jt_topology_ensure(js, &bad, &err), JT_ERR_CONFIG);
    assert_string_equal(err.path, "max_ack_pending");
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
}

/* ---- jobs -------------------------------------------------------------- */

static void dedup_msg_id(void **state)
{
    bus_fixture_t *f = *state;
    jsPubOptions po;
    jsPubAck *pa = NULL;
    jsPubOptions_Init(&po);
    po.MsgId = "task-1";
    assert_int_equal(js_Publish(&pa, f->bus.js, JT_SUBJECT_JOBS, "job", 3, &po, NULL), NATS_OK);
    assert_false(pa->Duplicate);
    uint64_t seq = pa->Sequence;
    jsPubAck_Destroy(pa);
    pa = NULL;
    assert_int_equal(js_Publish(&pa, f->bus.js, JT_SUBJECT_JOBS, "job", 3, &po, NULL), NATS_OK);
    assert_true(pa->Duplicate);
    assert_int_equal(pa->Sequence, seq);
    jsPubAck_Destroy(pa);
    pa = NULL;

    /* The header form, as direct publishers write it. */
    natsMsg *m = NULL;
    assert_int_equal(natsMsg_Create(&m, JT_SUBJECT_JOBS, NULL, "job", 3), NATS_OK);
    assert_int_equal(natsMsgHeader_Set(m, "Nats-Msg-Id", "task-1"), NATS_OK);
    assert_int_equal(js_PublishMsg(&pa, f->bus.js, m, NULL, NULL), NATS_OK);
    assert_true(pa->Duplicate);
    jsPubAck_Destroy(pa);
    natsMsg_Destroy(m);
    assert_int_equal(jt_bus_pending_jobs(&f->bus), 1);
}

static void pending_jobs_counts(void **state)
{
    bus_fixture_t *f = *state;
    char id[32];
    assert_int_equal(jt_bus_pending_jobs(&f->bus), 0);
    for (int i = 0; i < 3; i++) {
        jsPubOptions po;
        jsPubOptions_Init(&po);
        snprintf(id, sizeof id, "job-%d", i);
        po.MsgId = id;
        assert_int_equal(
            js_Publish(NULL, f->bus.js, JT_SUBJECT_JOBS, id, (int)strlen(id), &po, NULL), NATS_OK);
    }
    assert_int_equal(jt_bus_pending_jobs(&f->bus), 3);

    /* How a worker pulls: bind to the shared durable, fetch one at a time. */
    natsSubscription *sub = NULL;
    jsSubOptions so;
    jsErrCode jerr = 0;
    jsSubOptions_Init(&so);
    so.Stream = JT_STREAM_JOBS;
    so.Consumer = JT_CONSUMER_WORKERS;
    assert_int_equal(
        js_PullSubscribe(&sub, f->bus.js, JT_SUBJECT_JOBS_ALL, JT_CONSUMER_WORKERS, NULL, &so, &jerr),
        NATS_OK);
    natsMsgList list = {0};
    assert_int_equal(natsSubscription_Fetch(&list, sub, 1, 2000, &jerr), NATS_OK);
    assert_int_equal(list.Count, 1);
    assert_memory_equal(natsMsg_GetData(list.Msgs[0]), "job-0", 5);
    assert_int_equal(natsMsg_AckSync(list.Msgs[0], NULL, &jerr), NATS_OK);
    natsMsgList_Destroy(&list);
    assert_int_equal(jt_bus_pending_jobs(&f->bus), 2);

    /* In flight (delivered, not acked) still counts. */
    assert_int_equal(natsSubscription_Fetch(&list, sub, 1, 2000, &jerr), NATS_OK);
    assert_int_equal(jt_bus_pending_jobs(&f->bus), 2);
    assert_int_equal(natsMsg_AckSync(list.Msgs[0], NULL, &jerr), NATS_OK);
    natsMsgList_Destroy(&list);
    assert_int_equal(natsSubscription_Fetch(&list, sub, 1, 2000, &jerr), NATS_OK);
    assert_int_equal(natsMsg_AckSync(list.Msgs[0], NULL, &jerr), NATS_OK);
    natsMsgList_Destroy(&list);
    assert_int_equal(jt_bus_pending_jobs(&f->bus), 0);

    /* An empty queue: Fetch answers NATS_TIMEOUT after its timeout. */
    double t0 = now_s();
    assert_int_equal(natsSubscription_Fetch(&list, sub, 1, 200, &jerr), NATS_TIMEOUT);
    assert_true(now_s() - t0 < 2.0);
    natsSubscription_Destroy(sub);

    jt_bus_t empty = {0};
    assert_int_equal(jt_bus_pending_jobs(&empty), -1);
    assert_int_equal(jt_bus_pending_jobs(NULL), -1);
}

static void task_subject_checks(void **state)
{
    (void)state;
    char buf[64];
    assert_true(jt_bus_task_subject(buf, sizeof buf, JT_SUBJECT_PROGRESS_PREFIX, "Ab9_-x"));
    assert_string_equal(buf, "jouletrace.progress.Ab9_-x");
    const char *bad[] = {"", "a.b", "a*", ">", "a b", "a/b", "ä", "a\n", "a\\b", "a:b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(jt_bus_task_subject(buf, sizeof buf, JT_SUBJECT_RESULT_PREFIX, bad[i]));
    assert_false(jt_bus_task_subject(buf, sizeof buf, JT_SUBJECT_RESULT_PREFIX, NULL));
    assert_false(jt_bus_task_subject(buf, sizeof buf, NULL, "abc"));
    assert_false(jt_bus_task_subject(NULL, 10, JT_SUBJECT_RESULT_PREFIX, "abc"));
    /* exact fit: prefix (18) + "abc" + NUL = 22 */
    assert_true(jt_bus_task_subject(buf, 22, JT_SUBJECT_RESULT_PREFIX, "abc"));
    assert_false(jt_bus_task_subject(buf, 21, JT_SUBJECT_RESULT_PREFIX, "abc"));
}

/* ---- connection failures ----------------------------------------------- */

static void connect_dead_url(void **state)
{
    (void)state;
    jt_bus_t bus;
    jt_error_t err;
    memset(&bus, 0xab, sizeof bus);
    memset(&err, 0, sizeof err);
    double t0 = now_s();
    jt_status_t s = jt_bus_connect("nats://user:s3cret@127.0.0.1:1", "test", NULL, &bus, &err);
    assert_int_not_equal(s, JT_OK);
    assert_true(now_s() - t0 < 5.0);
    assert_non_null(strstr(err.message, "cannot connect to NATS at nats://***@127.0.0.1:1"));
    assert_null(strstr(err.message, "s3cret"));
    assert_null(bus.nc);
    assert_null(bus.js);
    assert_null(bus.tasks);
    jt_bus_close(&bus);

    assert_int_equal(jt_bus_connect("", "test", NULL, &bus, &err), JT_ERR_CONFIG);
}

/* Something accepts TCP but never speaks NATS: fail on the timeout, not hang. */
static void connect_silent_server(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    char url[64];
    snprintf(url, sizeof url, "nats://127.0.0.1:%d", ntohs(a.sin_port));

    jt_bus_t bus;
    jt_error_t err;
    double t0 = now_s();
    assert_int_not_equal(jt_bus_connect(url, "test", NULL, &bus, &err), JT_OK);
    assert_true(now_s() - t0 < 6.0);
    assert_non_null(strstr(err.message, "cannot connect to NATS"));
    close(fd);
}

/* The bus reconnects by itself, and JetStream state survives a broker restart. */
static void reconnects_after_broker_restart(void **state)
{
    bus_fixture_t *f = *state;
    jt_error_t err;
    json_t *rec = jt_task_record_new("kept", JT_TASK_MEASURING);
    assert_int_equal(jt_task_put(f->bus.tasks, "kept", rec, 0, NULL, &err), JT_OK);
    assert_int_equal(js_Publish(NULL, f->bus.js, JT_SUBJECT_JOBS, "j", 1, NULL, NULL), NATS_OK);
    int old_port = f->srv.client_port;

    assert_int_equal(jt_nats_server_restart(&f->srv), 0);
    assert_int_equal(f->srv.client_port, old_port);
    json_t *back = NULL;
    double deadline = now_s() + 15.0;
    while (jt_task_get(f->bus.tasks, "kept", &back, NULL, &err) != JT_OK && now_s() < deadline)
        jt_nats_sleep_ms(100);
    assert_non_null(back);
    assert_true(json_equal(rec, back));
    json_decref(back);
    json_decref(rec);
    assert_int_equal(jt_bus_pending_jobs(&f->bus), 1);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(topology_idempotent, bus_setup, bus_teardown),
    cmocka_unit_test_setup_teardown(topology_values, bus_setup, bus_teardown),
    cmocka_unit_test_setup_teardown(topology_updates_changed_settings, bus_setup, bus_teardown),
    cmocka_unit_test_setup_teardown(topology_unchangeable_reported, bus_setup_server, bus_teardown),
    cmocka_unit_test_setup_teardown(dedup_msg_id, bus_setup, bus_teardown),
    cmocka_unit_test_setup_teardown(pending_jobs_counts, bus_setup, bus_teardown),
    cmocka_unit_test(task_subject_checks),
    cmocka_unit_test(connect_dead_url),
    cmocka_unit_test(connect_silent_server),
    cmocka_unit_test_setup_teardown(reconnects_after_broker_restart, bus_setup, bus_teardown),
};

JT_UNIT_MAIN(tests)
