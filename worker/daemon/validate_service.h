/* validate_service.h -- the worker's answer to synchronous validate requests (NATS request/reply).
 *
 * Subscribes to JT_SUBJECT_VALIDATE in queue group JT_QUEUE_WORKERS. A
 * request is a msgpack job (jt_job_to_msgpack); the reply is JSON text:
 *   {"validation": {...}, "processing_time_seconds": n}       the gate ran
 *   {"error": "invalid_job", "message": "<path>: <problem>"}  bad request
 *   {"error": "sandbox_failed", "message": "..."}             the sandbox broke
 * Requests are served one at a time on the subscription's nats.c thread
 * through a runner of its own, so they never wait for a measurement.
 */
#ifndef JT_VALIDATE_SERVICE_H
#define JT_VALIDATE_SERVICE_H

#include <nats/nats.h>

#include "config.h"
#include "runner_client.h"
#include "status.h"

typedef struct jt_validate_service jt_validate_service_t;

/* Start answering on nc (not owned; must outlive the service). runner is
 * taken over (also on failure) and respawned from cfg (copied) when it
 * breaks; core is where the gate runs. On success *out is owned by the
 * caller (jt_validate_service_stop). */
jt_status_t jt_validate_service_start(natsConnection *nc, const jt_config_t *cfg, int core,
                                      jt_runner_t *runner, jt_validate_service_t **out,
                                      jt_error_t *err);

/* Stop taking requests, cancel the one in flight (its requester gets a
 * sandbox_failed reply), wait for the callback to return, destroy the
 * runner and free vs. NULL is a no-op. */
void jt_validate_service_stop(jt_validate_service_t *vs);

#endif
