/* batch_gate.c -- a published batch taken in, and one candidate's correctness gate on the job
 * thread.
 */
#include "batch_work.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch_codec.h"
#include "batch_state.h"
#include "bus_names.h"
#include "log.h"
#include "protocol.h"
#include "validation.h"

bool jt_batch_delivery_id(jt_batch_delivery_t *d)
{
    d->batch_id[0] = '\0';
    int len = natsMsg_GetDataLength(d->msg);
    msgpack_unpacked u;
    if (len > 0 && jt_mp_unpack_one(&u, (const uint8_t *)natsMsg_GetData(d->msg), (size_t)len)) {
        const msgpack_object *id = jt_mp_find(&u.data, "batch_id");
        if (id != NULL && id->type == MSGPACK_OBJECT_STR && id->via.str.size < sizeof d->batch_id) {
            memcpy(d->batch_id, id->via.str.ptr, id->via.str.size);
            d->batch_id[id->via.str.size] = '\0';
        }
        msgpack_unpacked_destroy(&u);
    }
    const char *hdr = NULL;
    if (d->batch_id[0] == '\0' && natsMsgHeader_Get(d->msg, "Nats-Msg-Id", &hdr) == NATS_OK &&
        hdr != NULL)
        snprintf(d->batch_id, sizeof d->batch_id, "%s", hdr);
    return jt_task_id_valid(d->batch_id);
}

/* Hand the message back later: the bus could not be read or written. */
static jt_settle_t bus_trouble(jt_batch_delivery_t *d, const jt_error_t *err)
{
    jt_log(JT_LOG_WARN, d->batch_id, "batch state unavailable (%s); handed back", err->message);
    d->delay_ms = JT_REQUEUE_BUS_DELAY_MS;
    return JT_SETTLE_NAK;
}

/* A batch that cannot be taken in: a failed record with the reason, when none exists. */
static void store_refusal(jt_batch_delivery_t *d, const char *why)
{
    jt_error_t err;
    json_t *rec = jt_task_record_new(d->batch_id, JT_TASK_FAILED);
    json_object_del(rec, "task_id");
    json_object_set_new(rec, "batch_id", json_string(d->batch_id));
    json_object_set_new(rec, "error_type", json_string("invalid_batch"));
    json_object_set_new(rec, "error", json_string(why));
    if (jt_batch_record_create(d->ctx->bus, d->batch_id, rec, &err) == JT_OK)
        jt_batch_publish(d->ctx->bus, rec);
    json_decref(rec);
}

jt_settle_t jt_batch_intake(jt_batch_delivery_t *d)
{
    jt_batch_t b;
    jt_batch_init(&b);
    jt_error_t err;
    int len = natsMsg_GetDataLength(d->msg);
    jt_status_t s = len <= 0
                        ? jt_error_set(&err, JT_ERR_INVALID, "", "empty message: expected a batch")
                        : jt_batch_from_msgpack(&b, (const uint8_t *)natsMsg_GetData(d->msg),
                                                (size_t)len, &err);
    if (s == JT_OK)
        s = jt_batch_store_submit(d->ctx->bus, d->batch_id, &b, NULL, &err);
    jt_batch_cleanup(&b);
    if (s == JT_OK) {
        jt_log(JT_LOG_INFO, d->batch_id, "batch taken in from the bus");
        return JT_SETTLE_ACK;
    }
    if (s == JT_ERR_EXISTS)
        return JT_SETTLE_ACK; /* a replay of a batch taken in already */
    if (jt_status_temporary(s))
        return bus_trouble(d, &err);
    char why[900];
    snprintf(why, sizeof why, "invalid batch on the bus: %s%s%s", err.path, err.path[0] ? ": " : "",
             err.message);
    jt_log(JT_LOG_WARN, d->batch_id, "%s", why);
    store_refusal(d, why);
    return JT_SETTLE_TERM;
}

typedef struct {
    const char *why;
} give_up_t;

static int edit_give_up(json_t *rec, void *ctx)
{
    const give_up_t *g = ctx;
    if (jt_batch_record_final(rec))
        return 0;
    json_object_set_new(rec, "status", json_string("failed"));
    json_object_set_new(rec, "error_type", json_string("infrastructure"));
    json_object_set_new(rec, "error", json_string(g->why));
    return 1;
}

void jt_batch_give_up(jt_batch_delivery_t *d, const char *why)
{
    give_up_t g = {why};
    json_t *now = NULL;
    jt_error_t err;
    if (jt_batch_record_update(d->ctx->bus, d->batch_id, edit_give_up, &g, &now, &err) != JT_OK) {
        jt_log(JT_LOG_ERROR, d->batch_id, "cannot store the batch's failure: %s", err.message);
        return;
    }
    jt_log(JT_LOG_WARN, d->batch_id, "batch failed: %s", why);
    jt_batch_publish(d->ctx->bus, now);
    json_decref(now);
}

/* ---- the gate of one candidate ------------------------------------------------------- */

typedef struct {
    size_t index;
    const jt_validation_t *v; /* NULL: the candidate could not be loaded (why) */
    const char *why;
    bool became_measuring; /* out: this write ended the gate phase with correct candidates */
} gate_edit_t;

static json_int_t count(json_t *rec, const char *name)
{
    return json_integer_value(json_object_get(json_object_get(rec, "counts"), name));
}

static void set_count(json_t *rec, const char *name, json_int_t v)
{
    json_object_set_new(json_object_get(rec, "counts"), name, json_integer(v));
}

static int edit_gated(json_t *rec, void *ctx)
{
    gate_edit_t *g = ctx;
    g->became_measuring = false;
    json_t *cand = json_array_get(json_object_get(rec, "candidates"), g->index);
    if (cand == NULL || strcmp(json_string_value(json_object_get(cand, "state")) ?: "", "queued"))
        return 0; /* gated by an earlier delivery */
    bool correct = g->v != NULL && g->v->is_correct;
    json_object_set_new(cand, "state", json_string(correct ? "correct" : "failed"));
    if (g->v != NULL) {
        json_object_set_new(cand, "passed_tests", json_integer((json_int_t)g->v->passed_tests));
        json_object_set_new(cand, "total_tests", json_integer((json_int_t)g->v->total_tests));
    }
    if (!correct)
        json_object_set_new(
            cand, "error_summary",
            json_string(g->v != NULL && g->v->error_summary ? g->v->error_summary : g->why));
    set_count(rec, "queued", count(rec, "queued") - 1);
    set_count(rec, correct ? "correct" : "failed", count(rec, correct ? "correct" : "failed") + 1);
    const char *status = json_string_value(json_object_get(rec, "status"));
    if (count(rec, "queued") <= 0 && status != NULL &&
        (strcmp(status, "validating") == 0 || strcmp(status, "queued") == 0)) {
        if (count(rec, "correct") > 0) {
            json_object_set_new(rec, "status", json_string("measuring"));
            g->became_measuring = true;
        } else {
            json_object_set_new(rec, "status", json_string("failed"));
            json_object_set_new(rec, "error_type", json_string("no_correct_candidate"));
            json_object_set_new(rec, "error",
                                json_string("no candidate passed the correctness gate"));
        }
    }
    return 1;
}

/* Queue the batch's measurement (deduplicated by its message id). */
static jt_status_t queue_blocks(jt_batch_delivery_t *d, jt_error_t *err)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "batch_id", 8);
    msgpack_pack_str_with_body(&pk, d->batch_id, strlen(d->batch_id));
    char msg_id[JT_BATCH_KEY_MAX];
    snprintf(msg_id, sizeof msg_id, "%s.blocks", d->batch_id);
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = msg_id;
    jsErrCode jerr = 0;
    natsStatus s = js_Publish(NULL, d->ctx->bus->js, JT_SUBJECT_BATCH_BLOCKS, sb.data, (int)sb.size,
                              &po, &jerr);
    msgpack_sbuffer_destroy(&sb);
    if (s == NATS_OK)
        return JT_OK;
    return jt_error_set(err, JT_ERR_IO, "", "cannot queue the measurement of batch %s: %s",
                        d->batch_id, natsStatus_GetText(s));
}

/* After the record says the gate phase is over: the measurement queued, or the end told. */
static jt_settle_t after_gates(jt_batch_delivery_t *d, const json_t *rec, bool measuring)
{
    jt_error_t err;
    if (measuring && queue_blocks(d, &err) != JT_OK)
        return bus_trouble(d, &err);
    jt_batch_publish(d->ctx->bus, rec); /* when final, its webhook too */
    return JT_SETTLE_ACK;
}

/* The gate on this worker's runner; a failed runner is replaced. */
static jt_status_t run_gate(jt_batch_delivery_t *d, const jt_job_t *job, jt_measurement_t *m,
                            jt_error_t *err)
{
    const jt_job_context_t *c = d->ctx;
    jt_runner_t *r = jt_runner_slot_runner(c->slot);
    if (r == NULL) {
        jt_status_t s = jt_runner_spawn(c->cfg, &r, err);
        if (s != JT_OK)
            return s;
        jt_runner_slot_swap(c->slot, r);
    }
    jt_status_t s = c->ms != NULL ? jt_measurer_gate(c->ms, r, job, m, err)
                                  : jt_runner_validate(r, job, -1, &m->validation, err);
    if (s == JT_OK) {
        m->has_validation = true;
        return JT_OK;
    }
    jt_runner_t *fresh = NULL;
    jt_error_t serr;
    if (!jt_runner_slot_stopping(c->slot) && jt_runner_spawn(c->cfg, &fresh, &serr) != JT_OK)
        fresh = NULL;
    jt_runner_slot_swap(c->slot, fresh);
    return s;
}

jt_settle_t jt_batch_gate(jt_batch_delivery_t *d)
{
    jt_bus_t *bus = d->ctx->bus;
    jt_error_t err;
    long long index = -1;
    int len = natsMsg_GetDataLength(d->msg);
    msgpack_unpacked u;
    if (len > 0 && jt_mp_unpack_one(&u, (const uint8_t *)natsMsg_GetData(d->msg), (size_t)len)) {
        jt_mp_int(jt_mp_find(&u.data, "index"), &index);
        msgpack_unpacked_destroy(&u);
    }
    json_t *rec = NULL;
    jt_status_t s = jt_batch_record_get(bus, d->batch_id, &rec, NULL, &err);
    if (s == JT_ERR_MISSING ||
        (s == JT_OK &&
         (index < 0 || (size_t)index >= json_array_size(json_object_get(rec, "candidates"))))) {
        jt_log(JT_LOG_WARN, d->batch_id, "gate message for an unknown batch or candidate; dropped");
        json_decref(rec);
        return JT_SETTLE_TERM;
    }
    if (s != JT_OK)
        return bus_trouble(d, &err);
    int status = jt_task_status_parse(json_string_value(json_object_get(rec, "status")));
    bool final = jt_batch_record_final(rec);
    json_t *cand = json_array_get(json_object_get(rec, "candidates"), (size_t)index);
    bool gated = strcmp(json_string_value(json_object_get(cand, "state")) ?: "", "queued") != 0;
    if (final) {
        json_decref(rec);
        return JT_SETTLE_ACK;
    }
    if (gated) { /* an earlier delivery stored it: finish what it may have left undone */
        jt_settle_t how = status == JT_TASK_MEASURING ? after_gates(d, rec, true) : JT_SETTLE_ACK;
        json_decref(rec);
        return how;
    }
    json_decref(rec);
    if (jt_batch_cancel_requested(bus, d->batch_id))
        return JT_SETTLE_ACK;

    jt_job_t job;
    jt_job_init(&job);
    jt_measurement_t m;
    jt_measurement_init(&m);
    gate_edit_t g = {.index = (size_t)index};
    char why[700] = "";
    rec = NULL;
    s = jt_batch_record_get(bus, d->batch_id, &rec, NULL, &err);
    if (s == JT_OK)
        s = jt_batch_load_job(bus, d->batch_id, (size_t)index, rec, &job, &err);
    json_decref(rec);
    if (s == JT_OK) {
        s = run_gate(d, &job, &m, &err);
        if (s != JT_OK) {
            jt_job_cleanup(&job);
            jt_measurement_cleanup(&m);
            if (jt_runner_slot_abort_bits(d->ctx->slot) != 0)
                return JT_SETTLE_NAK;
            jt_log(JT_LOG_WARN, d->batch_id, "sandbox failed during a gate: %s", err.message);
            d->delay_ms = JT_REQUEUE_DELAY_MS;
            return JT_SETTLE_REQUEUE;
        }
        g.v = &m.validation;
    } else if (jt_status_temporary(s)) {
        jt_job_cleanup(&job);
        jt_measurement_cleanup(&m);
        return bus_trouble(d, &err);
    } else {
        snprintf(why, sizeof why, "candidate could not be loaded: %s", err.message);
        g.why = why;
    }
    if (g.v != NULL) {
        json_t *gate = json_object();
        json_object_set_new(gate, "candidate_id", json_string(job.candidate_id));
        json_object_set_new(gate, "validation", jt_validation_to_json(&m.validation));
        s = jt_batch_json_put(bus, d->batch_id, "gate", (size_t)index, gate, false, &err);
        json_decref(gate);
    }
    jt_job_cleanup(&job);
    json_t *now = NULL;
    if (s == JT_OK)
        s = jt_batch_record_update(bus, d->batch_id, edit_gated, &g, &now, &err);
    jt_measurement_cleanup(&m);
    if (s != JT_OK)
        return bus_trouble(d, &err);
    jt_log(JT_LOG_INFO, d->batch_id, "candidate %lld gated", index);
    jt_settle_t how = after_gates(d, now, g.became_measuring);
    json_decref(now);
    return how;
}
