/* router.c -- maps method and path to a route handler; 404 and 405 with Allow; request metrics.
 *
 * jt_router_handle runs on civetweb worker threads, once per request.
 */
#include <string.h>

#include "gateway.h"
#include "ids.h"

#define TASKS_PREFIX "/api/v1/tasks/"

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
    {"/api/v1/socket0/status", "GET", JT_ROUTE_SOCKET0_STATUS, jt_route_socket0_status},
    {"/api/v1/health", "GET", JT_ROUTE_HEALTH, jt_route_health},
    {"/api/v1/capabilities", "GET", JT_ROUTE_CAPABILITIES, jt_route_capabilities},
    {"/ping", "GET", JT_ROUTE_PING, jt_route_ping},
    {"/metrics", "GET", JT_ROUTE_METRICS, jt_route_metrics},
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
                 "Access-Control-Allow-Headers: Content-Type, Idempotency-Key, X-Request-Id\r\n"
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

/* /api/v1/tasks/{id} and /api/v1/tasks/{id}/events. */
static void route_task(jt_gw_t *gw, jt_req_t *req, const char *rest)
{
    char id[JT_TASK_ID_MAX + 1];
    const char *slash = strchr(rest, '/');
    size_t id_len = slash != NULL ? (size_t)(slash - rest) : strlen(rest);
    bool events = slash != NULL && strcmp(slash, "/events") == 0;

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
    if (id_len <= JT_TASK_ID_MAX) { /* longer ones do not fit id and are invalid anyway */
        memcpy(id, rest, id_len);
        id[id_len] = '\0';
    }
    if (id_len > JT_TASK_ID_MAX || !jt_task_id_valid(id)) {
        jt_http_reply_error(req, 404, "task_not_found", "task_id", NULL,
                            "no task has this id (ids are 1..128 characters of [A-Za-z0-9_-])");
        return;
    }
    if (events)
        jt_route_task_events(gw, req, id);
    else if (is_delete)
        jt_route_task_cancel(gw, req, id);
    else
        jt_route_task_get(gw, req, id);
}

int jt_router_handle(struct mg_connection *conn, void *cbdata)
{
    jt_gw_t *gw = cbdata;
    jt_req_t req;
    bool matched = false;

    jt_req_init(&req, conn, gw->cors_origin);
    for (size_t i = 0; i < sizeof plain_routes / sizeof plain_routes[0]; i++) {
        if (strcmp(req.path, plain_routes[i].path) != 0)
            continue;
        matched = true;
        req.route = plain_routes[i].route;
        bool head_of_get =
            strcmp(req.method, "HEAD") == 0 && strcmp(plain_routes[i].method, "GET") == 0;
        if (strcmp(req.method, plain_routes[i].method) == 0 || head_of_get)
            plain_routes[i].fn(gw, &req); /* HEAD: http.c leaves the body out */
        else if (strcmp(req.method, "OPTIONS") == 0)
            reply_options(&req, allow_of(plain_routes[i].method));
        else
            jt_http_reply_method_not_allowed(&req, allow_of(plain_routes[i].method));
        break;
    }
    if (!matched) {
        if (strncmp(req.path, TASKS_PREFIX, strlen(TASKS_PREFIX)) == 0)
            route_task(gw, &req, req.path + strlen(TASKS_PREFIX));
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
    jt_req_init(&req, conn, gw != NULL ? gw->cors_origin : NULL);
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
