/* gateway.h -- the gateway's context shared by its routes, and the route handlers' contracts.
 *
 * One jt_gw_t per process, filled by main before civetweb starts and read-only
 * afterwards except for its atomics. Route handlers run on civetweb worker
 * threads; each answers its request exactly once (through http.h) and never
 * answers bad input with a 5xx.
 */
#ifndef JT_GW_GATEWAY_H
#define JT_GW_GATEWAY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "config.h"
#include "door.h"
#include "job.h"
#include "http.h"
#include "metrics.h"
#include "publisher.h"
#include "view.h"
#include "webhook.h"

#define JT_GW_VERSION "0.1.0"
#define JT_SSE_HEARTBEAT_SECONDS 15

typedef struct {
    jt_config_t cfg;
    jt_door_t door; /* CORS origins and bearer tokens (door.h) */
    time_t started_at;
    jt_view_t *view; /* the bus and the cluster snapshot */
    jt_metrics_t metrics;
    _Atomic(jt_publisher_t *) publisher; /* set once the bus is connected */
    atomic_bool stopping;                /* set before mg_stop: long-lived streams end */
    atomic_int sse_open;                 /* open event streams */
    int sse_max;                         /* above this, new streams get 429 */
    jt_webhook_secret_t webhook_secret;  /* loaded by main, copied into the deliverer, wiped */
    _Atomic(jt_webhook_t *) webhook;     /* the deliverer, set once the bus is connected */
} jt_gw_t;

/* POST /api/v1/measure-socket0 and /api/v1/measure (submit.c). */
void jt_route_measure(jt_gw_t *gw, jt_req_t *req);

/* GET /api/v1/tasks/{id} (routes_tasks.c). task_id is a valid id. */
void jt_route_task_get(jt_gw_t *gw, jt_req_t *req, const char *task_id);

/* DELETE /api/v1/tasks/{id} (routes_tasks.c). */
void jt_route_task_cancel(jt_gw_t *gw, jt_req_t *req, const char *task_id);

/* GET /api/v1/tasks/{id}/events (sse.c). Holds the thread until the task ends,
 * the client leaves, or the gateway stops. */
void jt_route_task_events(jt_gw_t *gw, jt_req_t *req, const char *task_id);

/* POST /api/v1/validate (routes_system.c). */
void jt_route_validate(jt_gw_t *gw, jt_req_t *req);

/* POST /api/v1/batches and POST /api/v1/compare (routes_batches.c): 202 with the batch id
 * once jt_batch_store_submit stored the batch and queued every gate; 400/413/415/422 for bad
 * input with the field path, 422 for a callback_url outside the allowlist, 503 without NATS
 * or a calibrated worker, 429 when the jobs queue is full. */
void jt_route_batch_submit(jt_gw_t *gw, jt_req_t *req);
void jt_route_compare(jt_gw_t *gw, jt_req_t *req);

/* GET and DELETE /api/v1/batches/{id}, GET /api/v1/batches/{id}/candidates/{candidate_id}
 * (routes_batches.c); GET /api/v1/batches/{id}/events (batch_events.c, holds the thread like
 * the task events). batch_id and candidate_id are valid ids (task_id.h). */
void jt_route_batch_get(jt_gw_t *gw, jt_req_t *req, const char *batch_id);
void jt_route_batch_cancel(jt_gw_t *gw, jt_req_t *req, const char *batch_id);
void jt_route_batch_candidate(jt_gw_t *gw, jt_req_t *req, const char *batch_id,
                              const char *candidate_id);
void jt_route_batch_events(jt_gw_t *gw, jt_req_t *req, const char *batch_id);

/* For GET /api/v1/capabilities (routes_batches.c): the batch limits and subjects as a new
 * object, and the batch routes appended to routes (an array of {method, path}). */
json_t *jt_gw_batch_capabilities(void);
void jt_gw_batch_routes(json_t *routes);

/* GET /api/v1/socket0/status, /api/v1/health, /api/v1/capabilities, /ping,
 * /metrics (routes_system.c). */
void jt_route_socket0_status(jt_gw_t *gw, jt_req_t *req);
void jt_route_health(jt_gw_t *gw, jt_req_t *req);
void jt_route_capabilities(jt_gw_t *gw, jt_req_t *req);
void jt_route_ping(jt_gw_t *gw, jt_req_t *req);
void jt_route_metrics(jt_gw_t *gw, jt_req_t *req);

/* GET /openapi.json (routes_openapi.c): docs/openapi.json as built in, application/json; open
 * without a token like /ping. */
void jt_route_openapi(jt_gw_t *gw, jt_req_t *req);

/* The dashboard (routes_dashboard.c): whether path is one of its paths ("/", "/index.html",
 * "/dashboard/..."; none when built without it), and GET/HEAD of its embedded files (404 for an
 * unknown file, 405 for other methods). Open without a token: static files, no data. */
bool jt_dashboard_path(const char *path);
void jt_route_dashboard(jt_gw_t *gw, jt_req_t *req);

/* The civetweb request handler for every URI (router.c): checks the bearer
 * token (401), matches the route, answers 404/405 itself, refuses bodies that
 * are not application/json (415) and task ids outside the id alphabet, as the
 * client sent them (400), counts the request. cbdata is the jt_gw_t. */
int jt_router_handle(struct mg_connection *conn, void *cbdata);

/* civetweb's http_error callback: the errors civetweb itself detects
 * (malformed request line, header block above 16 KiB, ...) get the error
 * envelope too. Returns 0 (handled). */
int jt_router_http_error(struct mg_connection *conn, int status, const char *errmsg);

/* Shared by the routes that take a job body (submit.c): read and parse it,
 * answering 400/413/422 on failure. Returns 0 with *job filled (caller
 * cleans it up), or -1 after replying. */
int jt_gw_read_job_or_reply(jt_gw_t *gw, jt_req_t *req, jt_job_t *job);

/* Answer 503 "nats_unavailable" (shared wording). */
void jt_gw_reply_nats_down(jt_req_t *req);

#endif
