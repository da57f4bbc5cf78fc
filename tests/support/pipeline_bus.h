/* pipeline_bus.h -- the pipeline tests' own NATS traffic: results read, raw jobs published. */
#ifndef JT_TESTS_PIPELINE_BUS_H
#define JT_TESTS_PIPELINE_BUS_H

#include <nats/nats.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline_fixture.h"

/* Subscribe to the result subject of every task, flushed: nothing published
 * after the return is missed. The caller destroys the subscription. */
natsSubscription *pl_subscribe_results(pl_t *pl);

/* Publish raw bytes as a job with Nats-Msg-Id = id (JetStream, acknowledged). */
void pl_publish_job(pl_t *pl, const char *id, const void *data, size_t len);

/* Last sequence of the jobs stream: how many jobs were ever stored (acked
 * ones are gone from a work queue, their sequence numbers are not). */
uint64_t pl_jobs_last_seq(pl_t *pl);

#endif
