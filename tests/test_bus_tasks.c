/* test_bus_tasks.c -- task state (shared/bus/task_state.c) and the KV lease primitives, against a
 * real nats-server. */
#include <stdio.h>
#include <stdlib.h>

#include "unit_main.h"

#include "bus.h"
#include "bus_fixture.h"
#include "bus_names.h"
#include "nats_server.h"
#include "task_state.h"

/* ---- task state -------------------------------------------------------- */

static void task_round_trip(void **state)
{
    bus_fixture_t *f = *state;
    jt_error_t err;
    json_t *rec = jt_task_record_new("t-1", JT_TASK_QUEUED);
    json_object_set_new(rec, "candidate_id", json_string("cand \"7\" ü"));
    json_object_set_new(rec, "result", json_pack("{s:[i,i], s:f}", "trials", 1, 2, "cv", 1.5));
    uint64_t rev = 0, got_rev = 0;
    assert_int_equal(jt_task_put(f->bus.tasks, "t-1", rec, 0, &rev, &err), JT_OK);
    assert_true(rev > 0);

    json_t *back = NULL;
    assert_int_equal(jt_task_get(f->bus.tasks, "t-1", &back, &got_rev, &err), JT_OK);
    assert_int_equal(got_rev, rev);
    assert_true(json_equal(rec, back));
    json_decref(back);

    /* Unconditional put overwrites and bumps the revision. */
    jt_task_record_set_status(rec, JT_TASK_MEASURING);
    uint64_t rev2 = 0;
    assert_int_equal(jt_task_put(f->bus.tasks, "t-1", rec, 0, &rev2, &err), JT_OK);
    assert_true(rev2 > rev);
    assert_int_equal(jt_task_get(f->bus.tasks, "t-1", &back, NULL, &err), JT_OK);
    assert_string_equal(json_string_value(json_object_get(back, "status")), "measuring");
    json_decref(back);
    json_decref(rec);
}

static void task_get_unknown(void **state)
{
    bus_fixture_t *f = *state;
    jt_error_t err;
    json_t *rec = NULL;
    memset(&err, 0, sizeof err);
    assert_int_equal(jt_task_get(f->bus.tasks, "never-submitted", &rec, NULL, &err),
                     JT_ERR_MISSING);
    assert_null(rec);
    assert_non_null(strstr(err.message, "never-submitted"));

    /* A deleted key is unknown too. */
    json_t *r = jt_task_record_new("gone", JT_TASK_QUEUED);
    assert_int_equal(jt_task_put(f->bus.tasks, "gone", r, 0, NULL, &err), JT_OK);
    assert_int_equal(kvStore_Delete(f->bus.tasks, "gone"), NATS_OK);
    assert_int_equal(jt_task_get(f->bus.tasks, "gone", &rec, NULL, &err), JT_ERR_MISSING);

    /* Ids that are not keys, and records that are not objects. */
    assert_int_equal(jt_task_get(f->bus.tasks, "a.b", &rec, NULL, &err), JT_ERR_INVALID);
    assert_int_equal(jt_task_get(f->bus.tasks, "", &rec, NULL, &err), JT_ERR_INVALID);
    assert_int_equal(jt_task_put(f->bus.tasks, "a*", r, 0, NULL, &err), JT_ERR_INVALID);
    json_t *arr = json_array();
    assert_int_equal(jt_task_put(f->bus.tasks, "x", arr, 0, NULL, &err), JT_ERR_INVALID);
    json_decref(arr);
    json_decref(r);

    /* Garbage stored under a task id by someone else is an error, not a crash. */
    assert_int_equal(kvStore_PutString(NULL, f->bus.tasks, "junk", "{not json"), NATS_OK);
    assert_int_equal(jt_task_get(f->bus.tasks, "junk", &rec, NULL, &err), JT_ERR_PROTOCOL);
    assert_null(rec);
}

static void task_cas_stale(void **state)
{
    bus_fixture_t *f = *state;
    jt_error_t err;
    json_t *rec = jt_task_record_new("cas", JT_TASK_QUEUED);
    uint64_t rev1 = 0, rev2 = 0, rev3 = 0, now = 0;
    assert_int_equal(jt_task_put(f->bus.tasks, "cas", rec, 0, &rev1, &err), JT_OK);

    jt_task_record_set_status(rec, JT_TASK_VALIDATING);
    assert_int_equal(jt_task_put(f->bus.tasks, "cas", rec, rev1, &rev2, &err), JT_OK);
    assert_true(rev2 > rev1);

    /* A writer still holding rev1 loses, and the stored record is untouched. */
    jt_task_record_set_status(rec, JT_TASK_CANCELLED);
    memset(&err, 0, sizeof err);
    assert_int_equal(jt_task_put(f->bus.tasks, "cas", rec, rev1, &rev3, &err), JT_ERR_PROTOCOL);
    assert_int_equal(rev3, 0);
    assert_true(strlen(err.message) > 0);
    json_t *back = NULL;
    assert_int_equal(jt_task_get(f->bus.tasks, "cas", &back, &now, &err), JT_OK);
    assert_int_equal(now, rev2);
    assert_string_equal(json_string_value(json_object_get(back, "status")), "validating");
    json_decref(back);

    /* CAS on a task that does not exist fails the same way. */
    assert_int_equal(jt_task_put(f->bus.tasks, "nobody", rec, 5, NULL, &err), JT_ERR_PROTOCOL);
    json_decref(rec);
}

static void task_status_names(void **state)
{
    (void)state;
    const char *names[] = {"queued",    "validating", "waiting_for_socket", "measuring",
                           "completed", "failed",     "cancelled"};
    assert_int_equal(sizeof names / sizeof names[0], JT_TASK_STATUS_COUNT);
    for (int i = 0; i < JT_TASK_STATUS_COUNT; i++) {
        assert_string_equal(jt_task_status_name((jt_task_status_t)i), names[i]);
        assert_int_equal(jt_task_status_parse(names[i]), i);
        assert_int_equal(jt_task_status_final((jt_task_status_t)i),
                         i == JT_TASK_COMPLETED || i == JT_TASK_FAILED || i == JT_TASK_CANCELLED);
    }
    assert_int_equal(jt_task_status_parse("Queued"), -1);
    assert_int_equal(jt_task_status_parse(""), -1);
    assert_int_equal(jt_task_status_parse(NULL), -1);
    assert_non_null(jt_task_status_name(JT_TASK_STATUS_COUNT));
    assert_non_null(jt_task_status_name((jt_task_status_t)-1));

    json_t *rec = jt_task_record_new("r1", JT_TASK_WAITING_FOR_SOCKET);
    assert_string_equal(json_string_value(json_object_get(rec, "task_id")), "r1");
    assert_string_equal(json_string_value(json_object_get(rec, "status")), "waiting_for_socket");
    const char *created = json_string_value(json_object_get(rec, "created_at"));
    assert_non_null(created);
    /* 2024-05-01T12:00:00.123Z */
    assert_int_equal(strlen(created), 24);
    assert_int_equal(created[10], 'T');
    assert_int_equal(created[23], 'Z');
    assert_string_equal(created, json_string_value(json_object_get(rec, "updated_at")));
    char before[32];
    snprintf(before, sizeof before, "%s", created);
    jt_nats_sleep_ms(5);
    jt_task_record_set_status(rec, JT_TASK_FAILED);
    assert_string_equal(json_string_value(json_object_get(rec, "status")), "failed");
    assert_string_equal(json_string_value(json_object_get(rec, "created_at")), before);
    assert_true(strcmp(json_string_value(json_object_get(rec, "updated_at")), before) > 0);
    json_decref(rec);
    assert_null(jt_task_record_new(NULL, JT_TASK_QUEUED));
}

/* ---- KV lease primitives (PLATFORM.md) ----------------------------------- */

/* Release = delete only while the key is still at revision rev. */
static natsStatus lease_release(jsCtx *js, const char *key, uint64_t rev, jsErrCode *jerr)
{
    char subject[128];
    natsMsg *m = NULL;
    jsPubOptions po;
    snprintf(subject, sizeof subject, "$KV.%s.%s", JT_KV_LEASES, key);
    natsStatus s = natsMsg_Create(&m, subject, NULL, NULL, 0);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, "KV-Operation", "DEL");
    jsPubOptions_Init(&po);
    po.ExpectLastSubjectSeq = rev;
    if (s == NATS_OK)
        s = js_PublishMsg(NULL, js, m, &po, jerr);
    natsMsg_Destroy(m);
    return s;
}

static void lease_primitives(void **state)
{
    bus_fixture_t *f = *state;
    kvStore *kv = f->bus.leases;
    const char *key = "host-a.socket0";
    uint64_t rev1 = 0, rev2 = 0, rev = 0;
    jsErrCode jerr = 0;

    /* acquire: create-if-absent is exclusive */
    assert_int_equal(kvStore_CreateString(&rev1, kv, key, "{\"holder\":\"w1\"}"), NATS_OK);
    assert_int_not_equal(kvStore_CreateString(&rev, kv, key, "{\"holder\":\"w2\"}"), NATS_OK);

    /* renew: update with the last revision; a stale revision fails */
    assert_int_equal(kvStore_UpdateString(&rev2, kv, key, "{\"holder\":\"w1\"}", rev1), NATS_OK);
    assert_true(rev2 > rev1);
    assert_int_not_equal(kvStore_UpdateString(&rev, kv, key, "{\"holder\":\"w2\"}", rev1), NATS_OK);

    /* release: delete only if still the holder (expected last subject sequence) */
    assert_int_not_equal(lease_release(f->bus.js, key, rev1, &jerr), NATS_OK);
    assert_int_equal(jerr, JSStreamWrongLastSequenceErr);
    kvEntry *e = NULL;
    assert_int_equal(kvStore_Get(&e, kv, key), NATS_OK);
    assert_int_equal(kvEntry_Revision(e), rev2);
    kvEntry_Destroy(e);
    e = NULL;
    assert_int_equal(lease_release(f->bus.js, key, rev2, &jerr), NATS_OK);
    assert_int_equal(kvStore_Get(&e, kv, key), NATS_NOT_FOUND);

    /* after release, the next acquire wins */
    assert_int_equal(kvStore_CreateString(&rev, kv, key, "{\"holder\":\"w2\"}"), NATS_OK);
}

static void lease_expires(void **state)
{
    bus_fixture_t *f = *state;
    kvStore *kv = f->bus.leases;
    uint64_t rev = 0;
    assert_int_equal(kvStore_CreateString(&rev, kv, "host-b.socket0", "w1"), NATS_OK);
    /* not renewed: gone after the bucket TTL (checked every second or so) */
    double deadline = jt_nats_now() + (double)JT_LEASE_TTL_NS / 1e9 + 8.0;
    natsStatus s;
    while ((s = kvStore_CreateString(&rev, kv, "host-b.socket0", "w2")) != NATS_OK &&
           jt_nats_now() < deadline)
        jt_nats_sleep_ms(250);
    assert_int_equal(s, NATS_OK);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(task_round_trip, bus_setup, bus_teardown),
    cmocka_unit_test_setup_teardown(task_get_unknown, bus_setup, bus_teardown),
    cmocka_unit_test_setup_teardown(task_cas_stale, bus_setup, bus_teardown),
    cmocka_unit_test(task_status_names),
    cmocka_unit_test_setup_teardown(lease_primitives, bus_setup, bus_teardown),
    cmocka_unit_test_setup_teardown(lease_expires, bus_setup, bus_teardown),
};

JT_UNIT_MAIN(tests)
