/* sse.h -- Server-Sent Events of a record kept in KV (a task's, a batch's) until it is final.
 *
 * The stream is the same for every kind of record: subscribe first, then read the stored
 * record and send it as the first event, then every newer record that arrives on the
 * subscription, re-reading the store when the subscription was quiet (core NATS may lose a
 * message), until a record with a final status (task_state.h names) was sent. Events:
 *   id: <1, 2, ...>
 *   event: progress | result      (result = the final record, then the stream ends)
 *   data: <record JSON on one line>
 * Runs on the civetweb worker thread of the request, which the stream holds.
 */
#ifndef JT_GW_SSE_H
#define JT_GW_SSE_H

#include <jansson.h>
#include <stdint.h>

#include "bus.h"
#include "gateway.h"
#include "status.h"

#define JT_SSE_MAX_SUBJECTS 2

/* Read the stored record of id: JT_OK with *record (new reference) and *rev, JT_ERR_MISSING
 * when unknown, another error when the store did not answer. */
typedef jt_status_t (*jt_sse_get_fn)(jt_bus_t *bus, const char *id, json_t **record, uint64_t *rev,
                                     jt_error_t *err);

typedef struct {
    const char *noun;    /* "task", "batch": error codes "<noun>_not_found", field "<noun>_id" */
    const char *id;      /* a valid id (task_id.h) */
    const char *pattern; /* the subject subscribed to (it may hold a wildcard) */
    const char *subjects[JT_SSE_MAX_SUBJECTS]; /* messages taken: these subjects (NULL: unused) */
    jt_sse_get_fn get;
} jt_sse_source_t;

/* Answer req with the event stream of src (404 for an unknown id, 429 when
 * gw->sse_max streams are open, 503 without NATS), until the record is final, the client
 * leaves or the gateway stops. */
void jt_sse_stream(jt_gw_t *gw, jt_req_t *req, const jt_sse_source_t *src);

#endif
