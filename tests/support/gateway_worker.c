/* gateway_worker.c -- the gateway tests' fake worker: heartbeats and records put on the bus. */
#include "gateway_worker.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bus_names.h"
#include "unit_main.h"
#include "value.h"

void put_heartbeat(fx_t *fx, const char *id, bool calibrated, const char *meter)
{
    uint64_t rev;
    json_t *hb = json_pack("{s:s, s:s, s:i, s:s, s:n, s:s, s:b, s:b, s:i, s:i}", "worker_id", id,
                           "host", "testhost", "pid", 1, "state", "idle", "task_id", "meter_type",
                           meter, "energy_is_estimated", strcmp(meter, "estimate") == 0,
                           "calibrated", calibrated, "measurement_core", 1, "socket", 0);
    char *text = json_dumps(hb, JSON_COMPACT);
    assert_int_equal(kvStore_PutString(&rev, fx->bus.workers, id, text), NATS_OK);
    free(text);
    json_decref(hb);
}

void publish_record(fx_t *fx, const char *prefix, const char *task_id, json_t *rec)
{
    char subject[256];
    jt_blob_t mp = {NULL, 0};
    assert_true(jt_bus_task_subject(subject, sizeof subject, prefix, task_id));
    assert_int_equal(jt_value_from_json(rec, "", &mp, NULL), JT_OK);
    assert_int_equal(natsConnection_Publish(fx->bus.nc, subject, mp.data, (int)mp.len), NATS_OK);
    natsConnection_Flush(fx->bus.nc);
    jt_blob_free(&mp);
}
