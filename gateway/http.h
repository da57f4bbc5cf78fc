/* http.h -- request helpers of the gateway: request ids, bounded bodies, JSON replies, errors.
 *
 * Everything here runs on the civetweb worker thread that owns the request.
 * Every reply carries the request id in the body (JSON replies) and as the
 * X-Request-Id header, plus Cache-Control: no-store and, when the request's
 * Origin is one of JOULETRACE_CORS_ORIGINS, Access-Control-Allow-Origin with
 * that origin and Vary: Origin.
 *
 * The one error envelope:
 *   {"error": "<snake_case code>", "message": "<for people>",
 *    "details": {"field": "<path, e.g. test_cases[2].inputs>", ...},
 *    "request_id": "<id>"}
 * details is always an object; "field" is present when one field is at fault
 * ("" means the body as a whole).
 */
#ifndef JT_GW_HTTP_H
#define JT_GW_HTTP_H

#include <civetweb.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "metrics.h"

typedef struct {
    struct mg_connection *conn;
    const struct mg_request_info *ri;
    const char *method;      /* "GET", "POST", ... */
    const char *path;        /* local URI as sent (never percent-decoded), dot segments
                                removed, without the query */
    const char *raw_path;    /* the same with its dot segments, exactly as sent */
    char request_id[72];     /* from a valid X-Request-Id header, else generated */
    const char *cors_origin; /* the request's Origin when allowed; "" or NULL: no CORS header */
    jt_route_t route;        /* metric label, set by the router */
    int status;              /* HTTP status sent, 0 until a reply went out */
    bool close;              /* close the connection after the reply */
} jt_req_t;

/* Fill *req for conn: method, paths, request id; cors_origin is the allowed
 * origin to echo (jt_door_allowed_origin) or NULL. Never fails. */
void jt_req_init(jt_req_t *req, struct mg_connection *conn, const char *cors_origin);

/* Value of a request header (case-insensitive), or NULL. */
const char *jt_req_header(const jt_req_t *req, const char *name);

/* Close the connection after the reply instead of keeping it alive (used
 * when the rest of the request cannot be read or is not worth reading). */
void jt_req_close_after_reply(jt_req_t *req);

/* Read the whole request body, at most max bytes, into a malloc'd buffer
 * (NUL-terminated for convenience; *len excludes the NUL). Content-Length
 * above max, or a chunked body that grows beyond it, is answered 413 without
 * reading further; a body shorter than its Content-Length is answered 400.
 * Returns 0 with *body and *len set (caller frees), or -1 after replying. */
int jt_http_read_body_or_reply(jt_req_t *req, size_t max, char **body, size_t *len);

/* Send a complete reply in one write: status line, Content-Type,
 * Content-Length, the common headers, extra_headers (NULL or "Name: value\r\n"
 * lines), Date, Connection (keep-alive by civetweb's rule unless
 * jt_req_close_after_reply was called) and body (omitted for HEAD).
 * Records req->status. Returns 0, or -1 when the client is gone. */
int jt_http_reply_raw(jt_req_t *req, int status, const char *content_type, const char *body,
                      size_t len, const char *extra_headers);

/* Reply with a JSON object (reference stolen; NULL replies 500). When it has no
 * "request_id" member, the request id is added. */
int jt_http_reply_json(jt_req_t *req, int status, json_t *body, const char *extra_headers);

/* Reply with the error envelope. field may be NULL (no "field" in details);
 * details (stolen, may be NULL) adds members to the details object. A 429 or 503 also
 * carries Retry-After (1 s, 2 s) and details.retry_after_seconds. */
int jt_http_reply_error(jt_req_t *req, int status, const char *error, const char *field,
                        json_t *details, const char *message);

/* Same with a printf-style message. */
int jt_http_reply_errorf(jt_req_t *req, int status, const char *error, const char *field,
                         json_t *details, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* 405 with the Allow header (allow like "GET, DELETE"). */
int jt_http_reply_method_not_allowed(jt_req_t *req, const char *allow);

/* Reason phrase of a status ("Accepted"), never NULL. */
const char *jt_http_status_text(int status);

#endif
