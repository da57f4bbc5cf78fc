/* pipeline_http.h -- the pipeline tests' requests to the gateway: readiness, jobs, task records. */
#ifndef JT_TESTS_PIPELINE_HTTP_H
#define JT_TESTS_PIPELINE_HTTP_H

#include <jansson.h>
#include <stddef.h>

#include "pipeline_fixture.h"

/* Wait until the gateway answers, is connected to NATS, and sees `workers`
 * live, calibrated workers (so that a POST is accepted). */
void pl_wait_ready(pl_t *pl, int workers, double seconds);

/* POST body (with header hdr, may be NULL) to path; expects 202; the task id into id. */
void pl_post_to(pl_t *pl, const char *path, const char *body, const char *hdr, char *id,
                size_t idlen);

/* pl_post_to the measure route (PL_MEASURE) without a header. */
void pl_post(pl_t *pl, const char *body, char *id, size_t idlen);

/* GET /api/v1/tasks/<id>: the record (new reference), NULL when not 200; the HTTP status (-1:
 * no answer) into *status when not NULL. */
json_t *pl_get(const pl_t *pl, const char *id, long *status);

/* Poll GET until the status is one of want (space separated words), with
 * backoff up to 500 ms. Returns the record; fails the case at the deadline. */
json_t *pl_wait_status(pl_t *pl, const char *id, const char *want, double seconds);

/* pl_wait_status until the task is completed, failed or cancelled. */
json_t *pl_wait_final(pl_t *pl, const char *id, double seconds);

#endif
