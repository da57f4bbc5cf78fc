/* router.c -- the front door (401, 415, 400 on ids), then method and path to a route handler;
 * 404 and 405 with Allow; request metrics.
 *
 * jt_router_handle runs on civetweb worker threads, once per request.
 */
#include <stdio.h>
#include <string.h>

#include "gateway.h"
#include "ids.h"

#define TASKS_PREFIX "/api/v1/tasks/"
#define BATCHES_PREFIX "/api/v1/batches/"
#define CANDIDATES_INFIX "/candidates/"

typedef void (*plain_fn)(jt_gw_t *gw, jt_req_t *req);

/* Routes without a path parameter. */
static const struct {
    const char *path;
    const char *method;
    jt_route_t route;
    plain_fn fn;
} plain_routes[] = {
    {"/api/v1/measure-socket0", "POST", JT_ROUTE_MEASURE, jt_route_measure},
    {"/api/v1/measure", "POST", JT_ROUTE_MEASURE, jt_route_measure},
    {"/api/v1/validate", "POST", JT_ROUTE_VALIDATE, jt_route_validate},
    {"/api/v1/batches", "POST", JT_ROUTE_BATCH_SUBMIT, jt_route_batch_submit},
    {"/api/v1/compare", "POST", JT_ROUTE_COMPARE, jt_route_compare},
    {"/api/v1/socket0/status", "GET", JT_ROUTE_SOCKET0_STATUS, jt_route_socket0_status},
    {"/api/v1/health", "GET", JT_ROUTE_HEALTH, jt_route_health},
    {"/api/v1/capabilities", "GET", JT_ROUTE_CAPABILITIES, jt_route_capabilities},
    {"/ping", "GET", JT_ROUTE_PING, jt_route_ping},
    {"/metrics", "GET", JT_ROUTE_METRICS, jt_route_metrics},
    {"/openapi.json", "GET", JT_ROUTE_CAPABILITIES, jt_route_openapi}, /* counted as capabilities */
};

/* The Allow list of a route with one method: GET routes also answer HEAD. */
static const char *allow_of(const char *method)
{
    return strcmp(method, "GET") == 0 ? "GET, HEAD" : method;
}

/* OPTIONS: say what the route allows (CORS preflights included). */
static void reply_options(jt_req_t *req, const char *allow)
{
    char headers[512];
    int n = snprintf(headers, sizeof headers, "Allow: %s, OPTIONS\r\n", allow);
    if (req->cors_origin != NULL && req->cors_origin[0] != '\0' && n > 0 &&
        (size_t)n < sizeof headers)
        snprintf(headers + n, sizeof headers - (size_t)n,
                 "Access-Control-Allow-Methods: %s, OPTIONS\r\n"
                 "Access-Control-Allow-Headers: Authorization, Content-Type, Idempotency-Key, "
                 "X-Request-Id\r\n"
                 "Access-Control-Max-Age: 600\r\n",
                 allow);
    jt_http_reply_raw(req, 204, "text/plain", "", 0, headers);
}

static void not_found(jt_req_t *req)
{
    req->route = JT_ROUTE_UNKNOWN;
    jt_http_reply_error(req, 404, "not_found", NULL, json_pack("{s:s}", "path", req->path),
                        "no such route; see GET /api/v1/capabilities for the list");
}

/* The task id of a task route, as the client sent it, must be 1..JT_TASK_ID_MAX
 * characters of the id alphabet: no percent-encoding (a "%00" would end the
 * decoded string, a "%2F" would split it), no "..", no NUL. */
static void reply_invalid_task_id(jt_req_t *req)
{
    jt_http_reply_error(req, 400, "invalid_task_id", "task_id", NULL,
                        "task ids are 1..128 characters of [A-Za-z0-9_-], sent as they are "
                        "(no percent-encoding)");
}

/* /api/v1/tasks/{id} and /api/v1/tasks/{id}/events; rest follows the prefix
 * in the raw (not decoded) path. */
static void route_task(jt_gw_t *gw, jt_req_t *req, const char *rest)
{
    char id[JT_TASK_ID_MAX + 1];
    const char *slash = strchr(rest, '/');
    size_t id_len = slash != NULL ? (size_t)(slash - rest) : strlen(rest);
    bool events = slash != NULL && strcmp(slash, "/events") == 0;

    /* The path as sent must be the cleaned one ("..", "." segments would
     * name another id or route) and the id must need no decoding. */
    if (id_len == 0 || id_len > JT_TASK_ID_MAX || strcmp(req->path, req->raw_path) != 0) {
        reply_invalid_task_id(req);
        return;
    }
    memcpy(id, rest, id_len);
    id[id_len] = '\0';
    if (!jt_task_id_valid(id)) {
        reply_invalid_task_id(req);
        return;
    }
    if (slash != NULL && !events) {
        not_found(req);
        return;
    }
    req->route = events ? JT_ROUTE_TASK_EVENTS : JT_ROUTE_TASK_GET;
    const char *allow = events ? "GET" : "GET, HEAD, DELETE";
    bool is_get = strcmp(req->method, "GET") == 0 || (!events && strcmp(req->method, "HEAD") == 0);
    bool is_delete = !events && strcmp(req->method, "DELETE") == 0;
    if (strcmp(req->method, "OPTIONS") == 0) {
        reply_options(req, allow);
        return;
    }
    if (!is_get && !is_delete) {
        jt_http_reply_method_not_allowed(req, allow);
        return;
    }
    if (is_delete)
        req->route = JT_ROUTE_TASK_CANCEL;
    if (events)
        jt_route_task_events(gw, req, id);
    else if (is_delete)
        jt_route_task_cancel(gw, req, id);
    else
        jt_route_task_get(gw, req, id);
}

/* The id of len bytes at s into id (JT_TASK_ID_MAX + 1 bytes): whether it is one. */
static bool copy_id(char *id, const char *s, size_t len)
{
    if (len == 0 || len > JT_TASK_ID_MAX)
        return false;
    memcpy(id, s, len);
    id[len] = '\0';
    return jt_task_id_valid(id);
}

/* 400 for a batch or candidate id outside the id alphabet, as sent (see task ids). */
static void reply_invalid_id(jt_req_t *req, const char *noun)
{
    char code[32], field[32];
    snprintf(code, sizeof code, "invalid_%s_id", noun);
    snprintf(field, sizeof field, "%s_id", noun);
    jt_http_reply_errorf(req, 400, code, field, NULL,
                         "%s ids are 1..128 characters of [A-Za-z0-9_-], sent as they are (no "
                         "percent-encoding)",
                         noun);
}

/* /api/v1/batches/{id}, .../events and .../candidates/{candidate_id}; rest follows the
 * prefix in the raw path. Ids are checked as task ids are. */
static void route_batch(jt_gw_t *gw, jt_req_t *req, const char *rest)
{
    char id[JT_TASK_ID_MAX + 1], candidate[JT_TASK_ID_MAX + 1];
    const char *slash = strchr(rest, '/');
    if (strcmp(req->path, req->raw_path) != 0 ||
        !copy_id(id, rest, slash != NULL ? (size_t)(slash - rest) : strlen(rest))) {
        reply_invalid_id(req, "batch");
        return;
    }
    bool events = slash != NULL && strcmp(slash, "/events") == 0;
    bool one = slash != NULL && strncmp(slash, CANDIDATES_INFIX, strlen(CANDIDATES_INFIX)) == 0;
    if (one && !copy_id(candidate, slash + strlen(CANDIDATES_INFIX),
                        strlen(slash + strlen(CANDIDATES_INFIX)))) {
        reply_invalid_id(req, "candidate");
        return;
    }
    if (slash != NULL && !events && !one) {
        not_found(req);
        return;
    }
    bool plain = slash == NULL;
    const char *allow = plain ? "GET, HEAD, DELETE" : events ? "GET" : "GET, HEAD";
    bool is_get = strcmp(req->method, "GET") == 0 || (!events && strcmp(req->method, "HEAD") == 0);
    bool is_delete = plain && strcmp(req->method, "DELETE") == 0;
    req->route = events      ? JT_ROUTE_BATCH_EVENTS
                 : is_delete ? JT_ROUTE_BATCH_CANCEL
                             : JT_ROUTE_BATCH_GET;
    if (strcmp(req->method, "OPTIONS") == 0)
        reply_options(req, allow);
    else if (!is_get && !is_delete)
        jt_http_reply_method_not_allowed(req, allow);
    else if (events)
        jt_route_batch_events(gw, req, id);
    else if (one)
        jt_route_batch_candidate(gw, req, id, candidate);
    else if (is_delete)
        jt_route_batch_cancel(gw, req, id);
    else
        jt_route_batch_get(gw, req, id);
}

/* 401 for a missing or wrong bearer token: the same answer for both. */
static void reply_unauthorized(jt_req_t *req)
{
    json_t *env = json_pack("{s:s, s:s, s:{}, s:s}", "error", "unauthorized", "message",
                            "this gateway needs the header Authorization: Bearer <token> with one "
                            "of its API tokens",
                            "details", "request_id", req->request_id);
    jt_http_reply_json(req, 401, env, "WWW-Authenticate: Bearer realm=\"jouletrace\"\r\n");
}

/* Whether this request may pass without a token: GET/HEAD /ping (liveness
 * probes), GET/HEAD /openapi.json (the public API description), GET/HEAD of the
 * dashboard's static files, and OPTIONS (CORS preflights carry no credentials;
 * they reveal nothing but the Allow list). */
static bool open_without_token(const jt_req_t *req)
{
    if (strcmp(req->method, "OPTIONS") == 0)
        return true;
    if (jt_dashboard_path(req->path)) /* static files; the page sends the user's token */
        return strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
    bool open_path = strcmp(req->path, "/ping") == 0 || strcmp(req->path, "/openapi.json") == 0;
    return open_path && strcmp(req->raw_path, req->path) == 0 &&
           (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0);
}

/* Methods whose body a route reads: only JSON is taken, so that a browser's
 * "simple" cross-origin request (text/plain, form bodies) is never acted on. */
static bool takes_body(const char *method)
{
    return strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
           strcmp(method, "PATCH") == 0;
}

static void reply_unsupported_media_type(jt_req_t *req, const char *content_type)
{
    jt_req_close_after_reply(req); /* the body is not read */
    jt_http_reply_error(
        req, 415, "unsupported_media_type", "Content-Type",
        json_pack("{s:s}", "content_type", content_type != NULL ? content_type : ""),
        "request bodies must be sent with Content-Type: application/json");
}

static bool starts_with_tasks(const char *p)
{
    return strncmp(p, TASKS_PREFIX, strlen(TASKS_PREFIX)) == 0;
}

int jt_router_handle(struct mg_connection *conn, void *cbdata)
{
    jt_gw_t *gw = cbdata;
    jt_req_t req;
    bool matched = false;

    jt_req_init(&req, conn, jt_door_allowed_origin(&gw->door, mg_get_header(conn, "Origin")));
    if (jt_door_tokens_required(&gw->door) && !open_without_token(&req) &&
        !jt_door_authorized(&gw->door, jt_req_header(&req, "Authorization"))) {
        reply_unauthorized(&req);
        matched = true; /* answered: no route */
    }
    for (size_t i = 0; !matched && i < sizeof plain_routes / sizeof plain_routes[0]; i++) {
        if (strcmp(req.path, plain_routes[i].path) != 0 || strcmp(req.raw_path, req.path) != 0)
            continue; /* encoded or dotted spellings of a route are no route */
        matched = true;
        req.route = plain_routes[i].route;
        bool head_of_get =
            strcmp(req.method, "HEAD") == 0 && strcmp(plain_routes[i].method, "GET") == 0;
        const char *ct = jt_req_header(&req, "Content-Type");
        if (strcmp(req.method, plain_routes[i].method) == 0 && takes_body(req.method) &&
            !jt_door_json_content_type(ct))
            reply_unsupported_media_type(&req, ct);
        else if (strcmp(req.method, plain_routes[i].method) == 0 || head_of_get)
            plain_routes[i].fn(gw, &req); /* HEAD: http.c leaves the body out */
        else if (strcmp(req.method, "OPTIONS") == 0)
            reply_options(&req, allow_of(plain_routes[i].method));
        else
            jt_http_reply_method_not_allowed(&req, allow_of(plain_routes[i].method));
        break;
    }
    if (!matched) {
        /* Either spelling under the prefix is a task route: the one as sent
         * so that "/api/v1/tasks/../health" is a bad id, not another route. */
        if (starts_with_tasks(req.raw_path))
            route_task(gw, &req, req.raw_path + strlen(TASKS_PREFIX));
        else if (starts_with_tasks(req.path))
            route_task(gw, &req, req.path + strlen(TASKS_PREFIX));
        else if (strncmp(req.raw_path, BATCHES_PREFIX, strlen(BATCHES_PREFIX)) == 0)
            route_batch(gw, &req, req.raw_path + strlen(BATCHES_PREFIX));
        else if (strncmp(req.path, BATCHES_PREFIX, strlen(BATCHES_PREFIX)) == 0)
            route_batch(gw, &req, req.path + strlen(BATCHES_PREFIX));
        else if (jt_dashboard_path(req.path))
            jt_route_dashboard(gw, &req);
        else
            not_found(&req);
    }
    if (req.status == 0) /* a handler that could not even write: count it as 500 */
        req.status = 500;
    jt_metrics_count_request(&gw->metrics, req.route, req.status);
    return req.status;
}

int jt_router_http_error(struct mg_connection *conn, int status, const char *errmsg)
{
    jt_gw_t *gw = mg_get_user_data(mg_get_context(conn));
    jt_req_t req;
    jt_req_init(&req, conn,
                gw != NULL ? jt_door_allowed_origin(&gw->door, mg_get_header(conn, "Origin"))
                           : NULL);
    jt_req_close_after_reply(&req); /* civetweb gave up on this request: start afresh */
    const char *code = "bad_request";
    switch (status) {
    case 505: /* the client's HTTP version: bad input, so a 4xx */
        status = 400;
        code = "http_version_not_supported";
        break;
    case 413:
    case 431:
        code = "request_too_large";
        break;
    case 408:
        code = "request_timeout";
        break;
    case 411:
        code = "length_required";
        break;
    case 405:
        code = "method_not_allowed";
        break;
    default:
        code = status >= 500 ? "server_error" : "bad_request";
    }
    jt_http_reply_error(&req, status, code, NULL, NULL,
                        errmsg != NULL && errmsg[0] != '\0' ? errmsg : jt_http_status_text(status));
    if (gw != NULL)
        jt_metrics_count_request(&gw->metrics, JT_ROUTE_UNKNOWN, status);
    return 0;
}
