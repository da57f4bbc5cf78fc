/* daemon_job.h -- the daemon tests' jobs: request bodies, published on the bus as a client would.
 */
#ifndef JT_TESTS_DAEMON_JOB_H
#define JT_TESTS_DAEMON_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "daemon_fixture.h"

/* The request body json as a msgpack job, malloc'd into *data and *len (fails the case when
 * the body is refused). */
void make_job(const char *json, uint8_t **data, size_t *len);

/* Publish data[0..len) on the jobs subject with Nats-Msg-Id task_id (JetStream, acknowledged). */
void publish_raw(fixture_t *f, const char *task_id, const void *data, size_t len);

/* Encode the request body json as a msgpack job and publish it as publish_raw does. */
void publish_job(fixture_t *f, const char *task_id, const char *json);

/* A job body: code, one or two test cases, the measurement knobs. */
void job_json(char *buf, size_t len, const char *task_id, const char *code, const char *cases,
              int trials, double min_trial_seconds);

#endif
