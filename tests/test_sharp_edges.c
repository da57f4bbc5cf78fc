/* test_sharp_edges.c -- one answer per job on the bus: real nats-server, real workers. */
#include "unit_main.h"

#include <msgpack.h>
#include <stdio.h>
#include <string.h>

#include "bus_names.h"
#include "candidate.h"
#include "daemon_fixture.h"
#include "daemon_job.h"
#include "daemon_record.h"
#include "json_path.h"
#include "task_state.h"
#include "unpack.h"

#define ANSWER_WAIT_S 30.0

/* The next message on sub within seconds (NULL when none); *replay tells whether it carries
 * JT_HEADER_REPLAY: true. Its msgpack payload as JSON (a new reference). */
static json_t *next_answer(natsSubscription *sub, double seconds, bool *replay)
{
    natsMsg *m = NULL;
    if (natsSubscription_NextMsg(&m, sub, (int64_t)(seconds * 1000)) != NATS_OK)
        return NULL;
    const char *hdr = NULL;
    *replay = natsMsgHeader_Get(m, JT_HEADER_REPLAY, &hdr) == NATS_OK && hdr != NULL &&
              strcmp(hdr, "true") == 0;
    jt_error_t err;
    json_t *out = jt_unpack_json(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), &err);
    natsMsg_Destroy(m);
    return out;
}

/* Publish data on the jobs subject, with Nats-Msg-Id msg_id unless NULL; the stream sequence
 * of the acknowledgement (*duplicate: JetStream dropped it as a duplicate). */
static uint64_t publish(fixture_t *f, const char *msg_id, const void *data, size_t len,
                        bool *duplicate)
{
    natsMsg *msg = NULL;
    jsPubAck *pa = NULL;
    jsErrCode jerr = 0;
    assert_int_equal(natsMsg_Create(&msg, JT_SUBJECT_JOBS, NULL, data, (int)len), NATS_OK);
    if (msg_id != NULL)
        assert_int_equal(natsMsgHeader_Set(msg, "Nats-Msg-Id", msg_id), NATS_OK);
    assert_int_equal(js_PublishMsg(&pa, f->bus.js, msg, NULL, &jerr), NATS_OK);
    uint64_t seq = pa->Sequence;
    if (duplicate != NULL)
        *duplicate = pa->Duplicate;
    jsPubAck_Destroy(pa);
    natsMsg_Destroy(msg);
    return seq;
}

/* A correct job of ADD_SRC as msgpack, with task_id (not checked) unless NULL. */
static void job_with_task_id(const char *task_id, msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    msgpack_sbuffer_init(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, task_id != NULL ? 3 : 2);
#define STR(s) (msgpack_pack_str(&pk, strlen(s)), msgpack_pack_str_body(&pk, s, strlen(s)))
    STR("candidate_code");
    STR(ADD_SRC);
    STR("test_cases");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 2);
    STR("inputs");
    msgpack_pack_array(&pk, 2);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_int(&pk, 2);
    STR("expected_output");
    msgpack_pack_int(&pk, 3);
    if (task_id != NULL) {
        STR("task_id");
        STR(task_id);
    }
#undef STR
}

/* Jobs without a usable id are answered once on jouletrace.rejected.<stream sequence>, never
 * given an id of the worker's making; a job with a good id behind them still runs. */
static void unusable_ids_rejected(void **state)
{
    fixture_t *f = *state;
    natsSubscription *rej = NULL;
    assert_int_equal(natsConnection_SubscribeSync(&rej, f->bus.nc, JT_SUBJECT_REJECTED_ALL),
                     NATS_OK);
    assert_int_equal(natsConnection_Flush(f->bus.nc), NATS_OK);
    start_ready_worker(f, "w1");

    char long_id[JT_TASK_ID_MAX + 2];
    memset(long_id, 'x', JT_TASK_ID_MAX + 1);
    long_id[JT_TASK_ID_MAX + 1] = '\0';
    msgpack_sbuffer plain, dotted;
    job_with_task_id(NULL, &plain);
    job_with_task_id("a.b", &dotted);
    struct {
        const char *msg_id;
        const msgpack_sbuffer *job;
        const char *error_type;
        uint64_t seq;
        bool answered;
    } cases[] = {
        {"a.b", &plain, "invalid_task_id", 0, false},
        {long_id, &plain, "invalid_task_id", 0, false},
        {NULL, &dotted, "invalid_task_id", 0, false},
        {NULL, &plain, "missing_task_id", 0, false},
    };
    const size_t n = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < n; i++)
        cases[i].seq = publish(f, cases[i].msg_id, cases[i].job->data, cases[i].job->size, NULL);

    for (size_t got = 0; got < n; got++) {
        bool replay = false;
        json_t *a = next_answer(rej, ANSWER_WAIT_S, &replay);
        CHECK(f, a != NULL);
        CHECK(f, !replay);
        CHECK(f, strcmp(jt_json_str(a, "status"), "rejected") == 0);
        CHECK(f, strcmp(jt_json_str(a, "subject"), JT_SUBJECT_JOBS) == 0);
        CHECK(f, strlen(jt_json_str(a, "error")) > 0);
        uint64_t seq = (uint64_t)json_integer_value(json_object_get(a, "stream_sequence"));
        size_t i = 0;
        while (i < n && cases[i].seq != seq)
            i++;
        CHECK(f, i < n && !cases[i].answered); /* one answer per job */
        cases[i].answered = true;
        CHECK(f, strcmp(jt_json_str(a, "error_type"), cases[i].error_type) == 0);
        json_t *id = json_object_get(a, "nats_msg_id");
        if (cases[i].msg_id != NULL)
            CHECK(f, strcmp(json_string_value(id), cases[i].msg_id) == 0);
        else
            CHECK(f, json_is_null(id));
        /* No task was made up for it. */
        char seq_id[64];
        json_t *rec = NULL;
        jt_error_t err;
        snprintf(seq_id, sizeof seq_id, "seq-%llu", (unsigned long long)seq);
        CHECK(f, jt_task_get(f->bus.tasks, seq_id, &rec, NULL, &err) == JT_ERR_MISSING);
        json_decref(a);
    }
    bool replay = false;
    json_t *extra = next_answer(rej, 1.0, &replay);
    CHECK(f, extra == NULL); /* exactly one each */

    /* A job with a good id still runs behind them; the queue is empty. */
    char body[4096];
    job_json(body, sizeof body, NULL, WRONG_SRC, ADD_CASES, 1, 0.0);
    publish_job(f, "after-rejections", body);
    json_t *rec = wait_record(f, "after-rejections", "failed completed", WAIT_S);
    CHECK(f, strcmp(jt_json_str(rec, "error_type"), "incorrect") == 0);
    json_decref(rec);
    CHECK(f, jt_bus_pending_jobs(&f->bus) == 0);
    msgpack_sbuffer_destroy(&plain);
    msgpack_sbuffer_destroy(&dotted);
    natsSubscription_Destroy(rej);
}

/* A publish for a finished task id (a new Nats-Msg-Id) sends the stored final record again,
 * marked as a replay, on the task's result and progress subjects; the record is not
 * rewritten. The same Nats-Msg-Id within the duplicate window is dropped by JetStream. */
static void finished_id_replays(void **state)
{
    fixture_t *f = *state;
    const char *id = "finished-1";
    start_ready_worker(f, "w1");
    char body[4096];
    job_json(body, sizeof body, id, WRONG_SRC, ADD_CASES, 1, 0.0); /* ends failed, no trials */
    publish_job(f, id, body);
    json_t *first = wait_record(f, id, "failed completed", WAIT_S);
    uint64_t rev_before = 0, rev_after = 0;
    json_t *tmp = NULL;
    jt_error_t err;
    CHECK(f, jt_task_get(f->bus.tasks, id, &tmp, &rev_before, &err) == JT_OK);
    json_decref(tmp);

    natsSubscription *res = subscribe(f, JT_SUBJECT_RESULT_PREFIX, id);
    natsSubscription *prog = subscribe(f, JT_SUBJECT_PROGRESS_PREFIX, id);
    uint8_t *job = NULL;
    size_t len = 0;
    make_job(body, &job, &len);
    bool dup = true;
    publish(f, "finished-1-again", job, len, &dup);
    CHECK(f, !dup);

    bool replay = false;
    json_t *again = next_answer(res, ANSWER_WAIT_S, &replay);
    CHECK(f, again != NULL);
    CHECK(f, replay);
    CHECK(f, json_equal(again, first)); /* the stored record, as stored */
    json_decref(again);
    again = next_answer(prog, ANSWER_WAIT_S, &replay);
    CHECK(f, again != NULL && replay);
    CHECK(f, strcmp(jt_json_str(again, "status"), "failed") == 0);
    json_decref(again);
    CHECK(f, next_answer(res, 1.0, &replay) == NULL); /* once */
    CHECK(f, jt_task_get(f->bus.tasks, id, &tmp, &rev_after, &err) == JT_OK);
    json_decref(tmp);
    CHECK(f, rev_after == rev_before);

    /* The same message id again inside the window: JetStream drops it, nothing is sent. */
    publish(f, "finished-1-again", job, len, &dup);
    CHECK(f, dup);
    CHECK(f, next_answer(res, 2.0, &replay) == NULL);
    CHECK(f, jt_bus_pending_jobs(&f->bus) == 0);
    free(job);
    json_decref(first);
    natsSubscription_Destroy(res);
    natsSubscription_Destroy(prog);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(unusable_ids_rejected, daemon_setup, daemon_teardown),
    cmocka_unit_test_setup_teardown(finished_id_replays, daemon_setup, daemon_teardown),
};

JT_UNIT_MAIN(tests)
