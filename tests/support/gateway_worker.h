/* gateway_worker.h -- the gateway tests' fake worker: heartbeats and records put on the bus. */
#ifndef JT_TESTS_GATEWAY_WORKER_H
#define JT_TESTS_GATEWAY_WORKER_H

#include <jansson.h>
#include <stdbool.h>

#include "gateway_fixture.h"

/* Put the heartbeat of an idle worker id (meter, calibrated or not) into the workers KV. */
void put_heartbeat(fx_t *fx, const char *id, bool calibrated, const char *meter);

/* Publish a record as the worker does: msgpack on prefix<task_id>. */
void publish_record(fx_t *fx, const char *prefix, const char *task_id, json_t *rec);

#endif
