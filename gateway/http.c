/* http.c -- request helpers: request ids, bounded body reads, JSON replies, the error envelope.
 *
 * Runs on the civetweb worker thread of the request.
 */
#include "http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ids.h"
#include "json_text.h"

#define BODY_CHUNK (64 * 1024)

const char *jt_http_status_text(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Unknown";
    }
}

void jt_req_init(jt_req_t *req, struct mg_connection *conn, const char *cors_origin)
{
    memset(req, 0, sizeof *req);
    req->conn = conn;
    req->ri = mg_get_request_info(conn);
    req->method = req->ri->request_method != NULL ? req->ri->request_method : "";
    req->path = req->ri->local_uri != NULL ? req->ri->local_uri : "";
    /* civetweb runs with decode_url=no (main.c): no URI is percent-decoded,
     * so a "%00" stays three characters instead of a NUL that ends the
     * string. local_uri is cleaned of dot segments, local_uri_raw is not;
     * both end before the '?'. Absolute URIs start with scheme://host; their
     * path is what follows. */
    const char *raw =
        req->ri->local_uri_raw != NULL ? req->ri->local_uri_raw : req->ri->request_uri;
    if (raw != NULL && strncasecmp(raw, "http", 4) == 0 && strstr(raw, "://") != NULL) {
        const char *slash = strchr(strstr(raw, "://") + 3, '/');
        raw = slash != NULL ? slash : "/";
    }
    req->raw_path = raw != NULL ? raw : req->path;
    req->cors_origin = cors_origin;
    req->route = JT_ROUTE_UNKNOWN;
    const char *rid = mg_get_header(conn, "X-Request-Id");
    if (rid != NULL && jt_ids_valid_request_id(rid))
        snprintf(req->request_id, sizeof req->request_id, "%s", rid);
    else
        jt_ids_request_id(req->request_id);
}

const char *jt_req_header(const jt_req_t *req, const char *name)
{
    return mg_get_header(req->conn, name);
}

#define RETRY_AFTER_429_S 1 /* queue full, too many streams: a moment */
#define RETRY_AFTER_503_S 2 /* the bus or the workers are not there: a little longer */

/* An announced body up to this size is read and discarded before a 413: a client still
 * sending it would otherwise meet a reset connection and may never see the answer. */
#define DRAIN_MAX_BYTES (16u * 1024 * 1024)

/* The client will not get to send the rest of a refused body: close after the reply instead
 * of reading (and discarding) up to 4 GiB on a keep-alive connection; a body announced at up
 * to DRAIN_MAX_BYTES is read first, so that the client reads the answer. */
static int refuse_too_large(jt_req_t *req, size_t max, long long announced)
{
    if (announced > 0 && announced <= (long long)DRAIN_MAX_BYTES) {
        char sink[16384];
        long long left = announced;
        int r;
        while (left > 0 && (r = mg_read(req->conn, sink,
                                        left < (long long)sizeof sink ? (size_t)left
                                                                      : sizeof sink)) > 0)
            left -= r;
    }
    jt_req_close_after_reply(req);
    json_t *d = json_pack("{s:I}", "limit_bytes", (json_int_t)max);
    if (announced >= 0 && d != NULL)
        json_object_set_new(d, "content_length", json_integer((json_int_t)announced));
    jt_http_reply_errorf(req, 413, "payload_too_large", "", d,
                         "request body is larger than the limit of %zu bytes (%zu MiB)", max,
                         max >> 20);
    return -1;
}

int jt_http_read_body_or_reply(jt_req_t *req, size_t max, char **body, size_t *len)
{
    long long cl = req->ri->content_length;
    size_t cap, n = 0;
    char *buf;

    if (cl > (long long)max)
        return refuse_too_large(req, max, cl);
    cap = cl >= 0 ? (size_t)cl + 1 : BODY_CHUNK;
    buf = malloc(cap);
    if (buf == NULL) {
        jt_http_reply_error(req, 503, "out_of_memory", NULL, NULL,
                            "the gateway cannot buffer this body right now; retry");
        return -1;
    }
    for (;;) {
        if (cl >= 0 && n == (size_t)cl)
            break;
        if (n + 1 >= cap) { /* only a chunked body of unknown size grows */
            if (cap > max) {
                free(buf);
                return refuse_too_large(req, max, -1);
            }
            size_t ncap = cap * 2 > max + 2 ? max + 2 : cap * 2;
            char *p = realloc(buf, ncap);
            if (p == NULL) {
                free(buf);
                jt_http_reply_error(req, 503, "out_of_memory", NULL, NULL,
                                    "the gateway cannot buffer this body right now; retry");
                return -1;
            }
            buf = p;
            cap = ncap;
        }
        size_t want = cap - 1 - n;
        if (cl >= 0 && want > (size_t)cl - n)
            want = (size_t)cl - n;
        int r = mg_read(req->conn, buf + n, want);
        if (r <= 0)
            break;
        n += (size_t)r;
        if (n > max) {
            free(buf);
            return refuse_too_large(req, max, -1);
        }
    }
    if (cl >= 0 && n != (size_t)cl) {
        free(buf);
        jt_req_close_after_reply(req);
        jt_http_reply_errorf(req, 400, "incomplete_body", "", NULL,
                             "the body ended after %zu of %lld announced bytes", n, cl);
        return -1;
    }
    buf[n] = '\0';
    *body = buf;
    *len = n;
    return 0;
}

/* Whether this connection stays open after the reply, by civetweb's own rule
 * (keep-alive is enabled): the client's Connection header decides, else
 * HTTP/1.1 keeps it. */
static bool keep_alive(const jt_req_t *req)
{
    if (req->close)
        return false;
    const char *h = mg_get_header(req->conn, "Connection");
    if (h != NULL)
        return strcasestr(h, "keep-alive") != NULL;
    return req->ri->http_version != NULL && strcmp(req->ri->http_version, "1.1") == 0;
}

void jt_req_close_after_reply(jt_req_t *req)
{
    req->close = true;
    mg_disable_connection_keep_alive(req->conn);
}

int jt_http_reply_raw(jt_req_t *req, int status, const char *content_type, const char *body,
                      size_t len, const char *extra_headers)
{
    char date[64];
    struct tm tm;
    time_t now = time(NULL);
    bool head = strcmp(req->method, "HEAD") == 0;

    req->status = status;
    bool keep = keep_alive(req);
    if (!keep)
        mg_disable_connection_keep_alive(req->conn);
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    bool cors = req->cors_origin != NULL && req->cors_origin[0] != '\0';
    const char *extra = extra_headers != NULL ? extra_headers : "";

    /* Status line, headers and body leave in one write: civetweb 1.15's
     * header API sends every header line as its own TCP segment. */
    size_t cap = 512 + strlen(content_type) + strlen(extra) +
                 (cors ? 2 * strlen(req->cors_origin) : 0) + (head ? 0 : len);
    char *out = malloc(cap);
    if (out == NULL)
        return -1;
    int n =
        snprintf(out, cap,
                 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                 "Cache-Control: no-store\r\nX-Request-Id: %s\r\n"
                 "X-Content-Type-Options: nosniff\r\n%s%s%s%sDate: %s\r\nConnection: %s\r\n\r\n",
                 status, jt_http_status_text(status), content_type, len, req->request_id,
                 cors ? "Access-Control-Allow-Origin: " : "", cors ? req->cors_origin : "",
                 cors ? "\r\nVary: Origin\r\n" : "", extra, date, keep ? "keep-alive" : "close");
    if (n < 0 || (size_t)n >= cap) {
        free(out);
        return -1;
    }
    size_t total = (size_t)n;
    if (!head && len > 0) {
        memcpy(out + total, body, len);
        total += len;
    }
    int rc = mg_write(req->conn, out, total) == (int)total ? 0 : -1;
    free(out);
    return rc;
}

int jt_http_reply_json(jt_req_t *req, int status, json_t *body, const char *extra_headers)
{
    static const char oom[] =
        "{\"error\":\"out_of_memory\",\"message\":\"cannot build the reply\",\"details\":{}}";
    if (body != NULL && json_is_object(body) && json_object_get(body, "request_id") == NULL)
        json_object_set_new(body, "request_id", json_string(req->request_id));
    char *text = body != NULL ? jt_json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (text == NULL)
        return jt_http_reply_raw(req, 500, "application/json", oom, sizeof oom - 1, NULL);
    int rc = jt_http_reply_raw(req, status, "application/json", text, strlen(text), extra_headers);
    free(text);
    return rc;
}

int jt_http_reply_error(jt_req_t *req, int status, const char *error, const char *field,
                        json_t *details, const char *message)
{
    json_t *d = json_is_object(details) ? details : json_object();
    if (details != NULL && d != details)
        json_decref(details);
    if (field != NULL && d != NULL)
        json_object_set_new(d, "field", json_string(field));
    json_t *env = json_object();
    if (env == NULL || d == NULL) {
        json_decref(env);
        json_decref(d);
        return jt_http_reply_json(req, status, NULL, NULL);
    }
    json_object_set_new(env, "error", json_string(error));
    /* Messages may quote client bytes: keep the envelope valid UTF-8. */
    json_t *msg = json_string(message);
    json_object_set_new(env, "message", msg != NULL ? msg : json_string("(message not UTF-8)"));
    /* "Come back later" answers say when: the header and details.retry_after_seconds. */
    int retry_s = status == 429 ? RETRY_AFTER_429_S : status == 503 ? RETRY_AFTER_503_S : 0;
    char headers[48] = "";
    if (retry_s > 0) {
        snprintf(headers, sizeof headers, "Retry-After: %d\r\n", retry_s);
        if (json_object_get(d, "retry_after_seconds") == NULL)
            json_object_set_new(d, "retry_after_seconds", json_integer(retry_s));
    }
    json_object_set_new(env, "details", d);
    json_object_set_new(env, "request_id", json_string(req->request_id));
    return jt_http_reply_json(req, status, env, retry_s > 0 ? headers : NULL);
}

int jt_http_reply_errorf(jt_req_t *req, int status, const char *error, const char *field,
                         json_t *details, const char *fmt, ...)
{
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    return jt_http_reply_error(req, status, error, field, details, message);
}

int jt_http_reply_method_not_allowed(jt_req_t *req, const char *allow)
{
    char headers[128];
    snprintf(headers, sizeof headers, "Allow: %s\r\n", allow);
    json_t *d = json_pack("{s:s, s:s}", "method", req->method, "allow", allow);
    json_t *env = json_pack("{s:s, s:s, s:o, s:s}", "error", "method_not_allowed", "message",
                            "this route does not accept this method; see Allow", "details",
                            d != NULL ? d : json_object(), "request_id", req->request_id);
    return jt_http_reply_json(req, 405, env, headers);
}
