/* test_gateway_door.c -- end-to-end tests of the gateway's front door: JSON-only bodies (415),
 * CORS origin list, task ids as sent (400), bearer tokens (401), refusals at start; real
 * nats-server and gateway on free loopback ports. */
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit_main.h"

#include "gateway_fixture.h"
#include "gateway_http.h"
#include "gateway_worker.h"
#include "process_harness.h"
#include "task_state.h"
#include "temp_dir.h"

/* Every case (argv[1]) is one ctest entry (tests/gateway.cmake) running one table. Raw
 * requests (raw_http) keep the bytes as written here: no client fixes a path or a header. */

#define TOKEN_A "door-token-A-7f3c9e21b4d8a605"
#define TOKEN_B "door-token-B-0b1d2e3f4a5b6c7d"
#define TOKEN_F "door-token-F-from-the-file-42"
#define ORIGINS "https://a.example,https://b.example"

static char reply[65536];

/* The JSON body of a raw answer, NULL when there is none. */
static json_t *raw_json(const char *answer)
{
    const char *body = strstr(answer, "\r\n\r\n");
    return body != NULL ? json_loads(body + 4, 0, NULL) : NULL;
}

/* The error code of a raw answer's envelope ("" when there is none); message into *msg. */
static const char *raw_error(json_t *j, const char **msg)
{
    const char *e = jstr(j, "error");
    if (msg != NULL)
        *msg = jstr(j, "message") != NULL ? jstr(j, "message") : "";
    return e != NULL ? e : "";
}

/* "METHOD path HTTP/1.1" with headers (each ending in \r\n) and a body into buf; its length. */
static size_t build(char *buf, size_t cap, const char *method, const char *path,
                    const char *headers, const char *body)
{
    int n = snprintf(buf, cap,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s"
                     "Content-Length: %zu\r\n\r\n%s",
                     method, path, headers != NULL ? headers : "", body != NULL ? strlen(body) : 0,
                     body != NULL ? body : "");
    assert_true(n > 0 && (size_t)n < cap);
    return (size_t)n;
}

static long send_req(fx_t *fx, const char *method, const char *path, const char *headers,
                     const char *body)
{
    char req[8192];
    size_t len = build(req, sizeof req, method, path, headers, body);
    return raw_http(fx, req, len, reply, sizeof reply);
}

/* ---- 415: bodies only as application/json -------------------------------------------------- */

typedef struct {
    const char *path, *content_type, *body; /* content_type NULL: no header */
    long status;
    const char *error;
} ct_row_t;

static void content_type(void **state)
{
    fx_t *fx = *state;
    static const ct_row_t rows[] = {
        {MEASURE, "text/plain", GOOD_JOB, 415, "unsupported_media_type"},
        {MEASURE, "text/plain; charset=utf-8", GOOD_JOB, 415, "unsupported_media_type"},
        {MEASURE, "application/x-www-form-urlencoded", "a=1", 415, "unsupported_media_type"},
        {MEASURE, "multipart/form-data; boundary=xyz", "--xyz--", 415, "unsupported_media_type"},
        {MEASURE, NULL, GOOD_JOB, 415, "unsupported_media_type"},
        {MEASURE, "", GOOD_JOB, 415, "unsupported_media_type"},
        {MEASURE, "application/jsonx", GOOD_JOB, 415, "unsupported_media_type"},
        {MEASURE, "text/json", GOOD_JOB, 415, "unsupported_media_type"},
        {"/api/v1/measure", "text/plain", GOOD_JOB, 415, "unsupported_media_type"},
        {"/api/v1/validate", "text/plain", GOOD_JOB, 415, "unsupported_media_type"},
        {"/api/v1/validate", NULL, GOOD_JOB, 415, "unsupported_media_type"},
        /* through the door: the body itself is judged next */
        {MEASURE, "application/json", "{bad", 400, "invalid_json"},
        {MEASURE, "Application/JSON; charset=utf-8", "{bad", 400, "invalid_json"},
        {MEASURE, "application/json;charset=UTF-8", "{bad", 400, "invalid_json"},
        {"/api/v1/validate", "application/json", "{bad", 400, "invalid_json"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const ct_row_t *r = &rows[i];
        char hdr[256] = "";
        if (r->content_type != NULL)
            snprintf(hdr, sizeof hdr, "Content-Type: %s\r\n", r->content_type);
        long st = send_req(fx, "POST", r->path, hdr, r->body);
        json_t *j = raw_json(reply);
        const char *msg = NULL;
        const char *err = raw_error(j, &msg);
        if (st != r->status || strcmp(err, r->error) != 0)
            fail_msg("row %zu (POST %s, Content-Type %s): %ld %s, want %ld %s\n%s", i, r->path,
                     r->content_type != NULL ? r->content_type : "(none)", st, err, r->status,
                     r->error, reply);
        if (r->status == 415) {
            assert_non_null(strstr(msg, "application/json"));
            assert_true(json_is_object(json_object_get(j, "details")));
            assert_non_null(jstr(j, "request_id"));
        }
        json_decref(j);
    }
    /* None of the refused jobs was queued. */
    jt_curl_resp_t m;
    assert_int_equal(http(fx, "GET", "/metrics", NULL, 0, NULL, &m), 0);
    assert_non_null(strstr(m.body, "jouletrace_pending_jobs 0\n"));
    jt_curl_resp_free(&m);
}

/* ---- CORS: only listed origins, echoed, never "*" ----------------------------------------- */

typedef struct {
    const char *method, *path, *origin, *headers, *body;
    bool echoed; /* Access-Control-Allow-Origin: <origin> and Vary: Origin */
} cors_row_t;

static void check_cors_rows(fx_t *fx, const cors_row_t *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const cors_row_t *r = &rows[i];
        char hdr[512], want[320];
        snprintf(hdr, sizeof hdr, "Origin: %s\r\n%s", r->origin, r->headers);
        long st = send_req(fx, r->method, r->path, hdr, r->body);
        if (st <= 0)
            fail_msg("row %zu: no answer", i);
        snprintf(want, sizeof want, "\r\nAccess-Control-Allow-Origin: %s\r\n", r->origin);
        char *end = strstr(reply, "\r\n\r\n");
        assert_non_null(end);
        end[2] = '\0'; /* headers only */
        bool has_acao = strcasestr(reply, "Access-Control-Allow-Origin") != NULL;
        bool has_any = strcasestr(reply, "Access-Control-") != NULL;
        if (r->echoed &&
            (strstr(reply, want) == NULL || strstr(reply, "\r\nVary: Origin\r\n") == NULL))
            fail_msg("row %zu (%s %s, Origin %s): origin not echoed\n%s", i, r->method, r->path,
                     r->origin, reply);
        if (!r->echoed && has_any)
            fail_msg("row %zu (%s %s, Origin %s): CORS headers for an origin not listed\n%s", i,
                     r->method, r->path, r->origin, reply);
        if (has_acao)
            assert_null(strstr(reply, "Access-Control-Allow-Origin: *"));
    }
}

#define TEXT "Content-Type: text/plain\r\n"
#define JSON "Content-Type: application/json\r\n"
#define PREFLIGHT "Access-Control-Request-Method: POST\r\n"

static void cors_listed(void **state)
{
    static const cors_row_t rows[] = {
        /* the attack: a page's simple cross-origin POST */
        {"POST", MEASURE, "https://evil.example", TEXT, GOOD_JOB, false},
        {"POST", MEASURE, "https://evil.example", JSON, "{bad", false},
        {"POST", MEASURE, "https://a.example.evil.example", JSON, "{bad", false},
        {"POST", MEASURE, "https://A.example", JSON, "{bad", false},
        {"POST", MEASURE, "null", JSON, "{bad", false},
        {"POST", MEASURE, "*", JSON, "{bad", false},
        {"POST", MEASURE, "https://a.example,https://b.example", JSON, "{bad", false},
        {"GET", "/ping", "http://a.example", "", NULL, false},
        {"OPTIONS", MEASURE, "https://evil.example", PREFLIGHT, NULL, false},
        {"OPTIONS", "/api/v1/tasks/abc", "https://evil.example", PREFLIGHT, NULL, false},
        /* listed origins */
        {"POST", MEASURE, "https://a.example", JSON, "{bad", true},
        {"POST", MEASURE, "https://b.example", TEXT, GOOD_JOB, true},
        {"GET", "/ping", "https://b.example", "", NULL, true},
        {"GET", "/api/v1/nope", "https://a.example", "", NULL, true},
        {"OPTIONS", MEASURE, "https://a.example", PREFLIGHT, NULL, true},
        {"OPTIONS", "/api/v1/tasks/abc", "https://b.example", PREFLIGHT, NULL, true},
    };
    check_cors_rows(*state, rows, sizeof rows / sizeof rows[0]);
    /* A listed preflight says what may follow. */
    send_req(*state, "OPTIONS", MEASURE, "Origin: https://a.example\r\n" PREFLIGHT, NULL);
    assert_non_null(strstr(reply, "Access-Control-Allow-Methods: POST, OPTIONS\r\n"));
    assert_non_null(strcasestr(reply, "Access-Control-Allow-Headers: Authorization, Content-Type"));
}

static void cors_off(void **state)
{
    static const cors_row_t rows[] = {
        {"POST", MEASURE, "https://a.example", TEXT, GOOD_JOB, false},
        {"POST", MEASURE, "https://a.example", JSON, "{bad", false},
        {"GET", "/ping", "https://a.example", "", NULL, false},
        {"OPTIONS", MEASURE, "https://a.example", PREFLIGHT, NULL, false},
    };
    check_cors_rows(*state, rows, sizeof rows / sizeof rows[0]);
}

/* ---- 400: task ids as sent ---------------------------------------------------------------- */

/* tmpl with every "ID" replaced by id, into out. */
static void with_id(char *out, size_t cap, const char *tmpl, const char *id)
{
    size_t n = 0;
    for (const char *p = tmpl; *p != '\0' && n + 1 < cap;) {
        if (strncmp(p, "ID", 2) == 0) {
            n += (size_t)snprintf(out + n, cap - n, "%s", id);
            p += 2;
        } else {
            out[n++] = *p++;
        }
    }
    out[n < cap ? n : cap - 1] = '\0';
}

static void task_ids(void **state)
{
    fx_t *fx = *state;
    jt_curl_resp_t r;
    char path[512], req[1024], long_id[JT_TASK_ID_MAX + 2];
    put_heartbeat(fx, "w1", true, "rapl-sysfs");
    post_accepted(fx, NULL, &r); /* a queued task the bad ids must not reach */
    char id[JT_TASK_ID_MAX + 1];
    snprintf(id, sizeof id, "%s", jstr(r.json, "task_id"));
    jt_curl_resp_free(&r);
    memset(long_id, 'a', JT_TASK_ID_MAX + 1);
    long_id[JT_TASK_ID_MAX + 1] = '\0';

    /* "ID": the queued task's id */
    const char *suffixes[] = {
        "ID%00x",   "ID%00", "%00",   "ID%2Fx", "ID%2f", "%2FID", "..",    "../ID",
        "ID/../ID", "./ID",  "ID%41", "ID.x",   "ID%20", "ID%",   "ID%0a",
    };
    const char *methods[] = {"GET", "DELETE", "HEAD"};
    for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
        for (size_t i = 0; i <= sizeof suffixes / sizeof suffixes[0]; i++) {
            char seg[300];
            if (i == sizeof suffixes / sizeof suffixes[0])
                snprintf(seg, sizeof seg, "%s", long_id);
            else
                with_id(seg, sizeof seg, suffixes[i], id);
            for (int events = 0; events < 2; events++) {
                if (events && strcmp(methods[m], "GET") != 0)
                    continue;
                snprintf(path, sizeof path, "/api/v1/tasks/%s%s", seg, events ? "/events" : "");
                long st = send_req(fx, methods[m], path, "", NULL);
                json_t *j = raw_json(reply);
                bool head = strcmp(methods[m], "HEAD") == 0;
                if (st != 400 || (!head && strcmp(raw_error(j, NULL), "invalid_task_id") != 0))
                    fail_msg("%s %s: %ld, want 400 invalid_task_id\n%s", methods[m], path, st,
                             reply);
                json_decref(j);
            }
        }
    }
    /* A NUL byte in the request line never reaches a route. */
    static const char *const nul_methods[] = {"GET", "DELETE"};
    for (size_t m = 0; m < 2; m++) {
        static const char tail[] = "\0x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        int n = snprintf(req, sizeof req, "%s /api/v1/tasks/%s", nul_methods[m], id);
        memcpy(req + n, tail, sizeof tail - 1);
        long st = raw_http(fx, req, (size_t)n + sizeof tail - 1, reply, sizeof reply);
        if (st != 400)
            fail_msg("%s with a NUL in the id: %ld, want 400\n%s", nul_methods[m], st, reply);
    }
    /* The task is still queued: no bad id cancelled it. */
    snprintf(path, sizeof path, "/api/v1/tasks/%s", id);
    assert_int_equal(http(fx, "GET", path, NULL, 0, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "status"), "queued");
    jt_curl_resp_free(&r);
    kvEntry *e = NULL;
    assert_int_equal(kvStore_Get(&e, fx->bus.cancels, id), NATS_NOT_FOUND);
    /* and the id as sent still works */
    assert_int_equal(http(fx, "DELETE", path, NULL, 0, NULL, &r), 0);
    assert_int_equal(r.status, 202);
    jt_curl_resp_free(&r);
}

/* ---- 401: bearer tokens ----------------------------------------------------------------- */

typedef struct {
    const char *method, *path, *auth, *headers, *body; /* auth: header line or NULL */
    long status;
} tok_row_t;

/* The 401 bodies of a missing and a wrong token say the same. */
static void check_token_rows(fx_t *fx, const tok_row_t *rows, size_t n)
{
    char first_msg[512] = "";
    for (size_t i = 0; i < n; i++) {
        const tok_row_t *r = &rows[i];
        char hdr[1024];
        snprintf(hdr, sizeof hdr, "%s%s%s", r->auth != NULL ? r->auth : "",
                 r->auth != NULL ? "\r\n" : "", r->headers != NULL ? r->headers : "");
        long st = send_req(fx, r->method, r->path, hdr, r->body);
        bool ok = r->status == 0 ? st >= 200 && st < 300 : st == r->status;
        if (!ok)
            fail_msg("row %zu (%s %s, %s): %ld, want %ld\n%s", i, r->method, r->path,
                     r->auth != NULL ? "with a token" : "no token", st, r->status, reply);
        if (st != 401)
            continue;
        assert_non_null(strstr(reply, "\r\nWWW-Authenticate: Bearer"));
        json_t *j = raw_json(reply);
        const char *msg = NULL;
        assert_string_equal(raw_error(j, &msg), "unauthorized");
        if (first_msg[0] == '\0')
            snprintf(first_msg, sizeof first_msg, "%s", msg);
        assert_string_equal(msg, first_msg);
        json_decref(j);
    }
}

#define AUTH_A "Authorization: Bearer " TOKEN_A
#define AUTH_B "Authorization: Bearer " TOKEN_B

static void tokens(void **state)
{
    fx_t *fx = *state;
    static const tok_row_t rows[] = {
        {"GET", "/api/v1/health", NULL, NULL, NULL, 401},
        {"GET", "/api/v1/health", "Authorization: Bearer wrong-token-wrong-token", NULL, NULL, 401},
        {"GET", "/api/v1/health", "Authorization: Bearer door-token-A-7f3c9e21b4d8a60", NULL, NULL,
         401}, /* a prefix */
        {"GET", "/api/v1/health", AUTH_A "x", NULL, NULL, 401},
        {"GET", "/api/v1/health", "Authorization: Basic " TOKEN_A, NULL, NULL, 401},
        {"GET", "/api/v1/health", "Authorization: " TOKEN_A, NULL, NULL, 401},
        {"GET", "/api/v1/health", "Authorization: Bearer", NULL, NULL, 401},
        {"GET", "/api/v1/health", "Authorization: Bearer " TOKEN_A "," TOKEN_B, NULL, NULL, 401},
        {"GET", "/api/v1/capabilities", NULL, NULL, NULL, 401},
        {"GET", "/metrics", NULL, NULL, NULL, 401},
        {"GET", "/api/v1/socket0/status", NULL, NULL, NULL, 401},
        {"GET", "/api/v1/nope", NULL, NULL, NULL, 401},
        {"GET", "/api/v1/tasks/abc", NULL, NULL, NULL, 401},
        {"DELETE", "/api/v1/tasks/abc", NULL, NULL, NULL, 401},
        {"GET", "/api/v1/tasks/abc/events", NULL, NULL, NULL, 401},
        {"POST", MEASURE, NULL, JSON, GOOD_JOB, 401},
        {"POST", MEASURE, "Authorization: Bearer nope-nope-nope-nope", JSON, GOOD_JOB, 401},
        {"POST", "/api/v1/validate", NULL, JSON, GOOD_JOB, 401},
        /* open: liveness and preflights */
        {"GET", "/ping", NULL, NULL, NULL, 200},
        {"HEAD", "/ping", NULL, NULL, NULL, 200},
        {"GET", "/ping", "Authorization: Bearer wrong-token-wrong-token", NULL, NULL, 200},
        {"OPTIONS", MEASURE, NULL, "Origin: https://a.example\r\n" PREFLIGHT, NULL, 204},
        /* the right tokens */
        {"GET", "/api/v1/health", AUTH_A, NULL, NULL, 0},
        {"GET", "/api/v1/health", AUTH_B, NULL, NULL, 0},
        {"GET", "/api/v1/health", "authorization: bearer " TOKEN_B, NULL, NULL, 0},
        {"GET", "/api/v1/capabilities", AUTH_A, NULL, NULL, 0},
        {"GET", "/metrics", AUTH_B, NULL, NULL, 0},
        {"GET", "/api/v1/tasks/nosuchtask", AUTH_A, NULL, NULL, 404},
        {"GET", "/api/v1/tasks/a%00b", AUTH_A, NULL, NULL, 400},
        {"POST", MEASURE, AUTH_A, TEXT, GOOD_JOB, 415},
        {"POST", MEASURE, AUTH_A, JSON, "{bad", 400},
    };
    check_token_rows(fx, rows, sizeof rows / sizeof rows[0]);
    /* A job with the right token goes through. */
    jt_curl_resp_t r;
    const char *hdrs[] = {AUTH_B, NULL};
    put_heartbeat(fx, "w1", true, "rapl-sysfs");
    post_accepted(fx, hdrs, &r);
    assert_int_equal(r.status, 202);
    jt_curl_resp_free(&r);
}

static void tokens_file(void **state)
{
    static const tok_row_t rows[] = {
        {"GET", "/api/v1/health", NULL, NULL, NULL, 401},
        {"GET", "/api/v1/health", "Authorization: Bearer " TOKEN_F "x", NULL, NULL, 401},
        {"GET", "/api/v1/health", "Authorization: Bearer # comment line", NULL, NULL, 401},
        {"GET", "/api/v1/health", "Authorization: Bearer " TOKEN_F, NULL, NULL, 0},
        {"GET", "/api/v1/health", AUTH_A, NULL, NULL, 0}, /* the list adds to the file */
        {"GET", "/ping", NULL, NULL, NULL, 200},
    };
    check_token_rows(*state, rows, sizeof rows / sizeof rows[0]);
}

/* ---- fixtures of the token cases: no token in any line the gateway wrote ------------------ */

static char token_dir[128];

/* A token file of mode 0600 (0644 when world) in token_dir: a comment, a blank line, TOKEN_F. */
static void write_token_file(char *path, size_t len, mode_t mode)
{
    if (token_dir[0] == '\0')
        assert_int_equal(jt_temp_dir_make(token_dir, sizeof token_dir, "jt-door"), 0);
    snprintf(path, len, "%s/tokens-%o", token_dir, (unsigned)mode);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "# comment line\n\n   %s  \n", TOKEN_F);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static int setup_cors_listed(void **state)
{
    static const char *const extra[] = {"JOULETRACE_CORS_ORIGINS=" ORIGINS, NULL};
    return gateway_setup_with(state, extra);
}

static int setup_tokens(void **state)
{
    static const char *const extra[] = {"JOULETRACE_API_TOKENS=" TOKEN_A ", " TOKEN_B,
                                        "JOULETRACE_CORS_ORIGINS=" ORIGINS,
                                        "JOULETRACE_LOG_LEVEL=debug", NULL};
    return gateway_setup_auth(state, extra, AUTH_A);
}

static int setup_tokens_file(void **state)
{
    static char path[256], var[320];
    write_token_file(path, sizeof path, 0600);
    snprintf(var, sizeof var, "JOULETRACE_API_TOKENS_FILE=%s", path);
    const char *const extra[] = {var, "JOULETRACE_API_TOKENS=" TOKEN_A,
                                 "JOULETRACE_LOG_LEVEL=debug", NULL};
    return gateway_setup_auth(state, extra, AUTH_A);
}

/* Whether the file at path holds needle; fails the case when it cannot be read or is empty. */
static bool log_holds(const char *path, const char *needle)
{
    char line[8192];
    bool found = false, any = false;
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof line, f) != NULL) {
        any = true;
        if (strstr(line, needle) != NULL)
            found = true;
    }
    fclose(f);
    assert_true(any);
    return found;
}

/* Stop the gateway (it must exit 0), then: no token in its log. */
static int teardown_tokens(void **state)
{
    fx_t *fx = *state;
    int status = stop_gateway(fx);
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        jt_proc_dump_log("gateway", fx->gw.log, 6000);
        fail_msg("gateway did not exit 0 on SIGTERM (status 0x%x)", (unsigned)status);
    }
    assert_true(log_holds(fx->gw.log, "gateway listening"));
    static const char *const secrets[] = {TOKEN_A, TOKEN_B, TOKEN_F, "door-token-"};
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
        if (log_holds(fx->gw.log, secrets[i])) {
            jt_proc_dump_log("gateway", fx->gw.log, 6000);
            fail_msg("a token is in the gateway's log");
        }
    int rc = gateway_teardown(state);
    if (token_dir[0] != '\0')
        jt_temp_dir_remove(token_dir);
    token_dir[0] = '\0';
    return rc;
}

/* ---- refusals at start ------------------------------------------------------------------ */

typedef struct {
    const char *addr;    /* JOULETRACE_HTTP_ADDR, "%d" the port */
    const char *vars[4]; /* more settings; "@file" / "@world": a token file of mode 600 / 644 */
    bool starts;
    const char *says; /* in the log of a refusal */
} start_row_t;

static void refusals(void **state)
{
    (void)state;
    static const start_row_t rows[] = {
        {"0.0.0.0:%d", {NULL}, false, "JOULETRACE_API_TOKENS"},
        {"%d", {NULL}, false, "JOULETRACE_API_TOKENS"},
        {"[::]:%d", {NULL}, false, "JOULETRACE_API_TOKENS"},
        {"127.0.0.1:%d,0.0.0.0:%d", {NULL}, false, "JOULETRACE_API_TOKENS"},
        {"0.0.0.0:%d",
         {"JOULETRACE_REQUIRE_TOKENS_BEYOND_LOOPBACK=1"},
         false,
         "JOULETRACE_API_TOKENS"},
        {"127.0.0.1:%d", {"@world"}, false, "readable by every user"},
        {"127.0.0.1:%d", {"JOULETRACE_API_TOKENS=short-tok"}, false, "16..256"},
        {"127.0.0.1:%d", {"JOULETRACE_CORS_ORIGINS=*"}, false, "\\\"*\\\" is refused"},
        {"127.0.0.1:%d", {"JOULETRACE_CORS_ORIGINS=https://a.example,*"}, false, "refused"},
        {"127.0.0.1:%d", {"JOULETRACE_API_TOKENS_FILE=/nonexistent/tokens"}, false, "cannot open"},
        /* these start */
        {"0.0.0.0:%d", {"JOULETRACE_REQUIRE_TOKENS_BEYOND_LOOPBACK=0"}, true, NULL},
        {"0.0.0.0:%d", {"JOULETRACE_API_TOKENS=" TOKEN_A}, true, NULL},
        {"0.0.0.0:%d", {"@file"}, true, NULL},
        {"localhost:%d", {NULL}, true, NULL},
        {"127.0.0.1:%d", {"JOULETRACE_CORS_ORIGIN=https://a.example"}, true, NULL},
    };
    char dir[128], log[256], addr[128], path[256], file_var[320];
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const start_row_t *r = &rows[i];
        const char *vars[8];
        size_t k = 0;
        int port = jt_proc_free_port();
        assert_true(port > 0);
        assert_int_equal(jt_temp_dir_make(dir, sizeof dir, "jt-door-start"), 0);
        snprintf(addr, sizeof addr, "JOULETRACE_HTTP_ADDR=");
        snprintf(addr + strlen(addr), sizeof addr - strlen(addr), r->addr, port, port);
        vars[k++] = addr;
        vars[k++] = "JOULETRACE_NATS_URL=nats://127.0.0.1:1"; /* never reached: not needed */
        for (size_t v = 0; v < 4 && r->vars[v] != NULL; v++) {
            if (r->vars[v][0] == '@') {
                write_token_file(path, sizeof path,
                                 strcmp(r->vars[v], "@world") == 0 ? 0644 : 0600);
                snprintf(file_var, sizeof file_var, "JOULETRACE_API_TOKENS_FILE=%s", path);
                vars[k++] = file_var;
            } else {
                vars[k++] = r->vars[v];
            }
        }
        vars[k] = NULL;
        char **envp = jt_proc_envp("JOULETRACE_", vars);
        assert_non_null(envp);
        char *argv[] = {(char *)gateway_bin(), NULL};
        snprintf(log, sizeof log, "%s/gateway.log", dir);
        pid_t pid = jt_proc_spawn(argv, envp, log, SIGKILL, false);
        free(envp);
        assert_true(pid > 0);
        int status = 0;
        bool exited = jt_proc_reap(pid, r->starts ? 1.0 : 10.0, &status);
        if (r->starts) {
            if (exited) {
                jt_proc_dump_log("gateway", log, 4000);
                fail_msg("row %zu (%s): the gateway did not start", i, addr);
            }
            status = jt_proc_stop(&pid, SIGTERM, 10.0, false);
            assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        } else {
            if (!exited)
                jt_proc_stop(&pid, SIGKILL, 5.0, false);
            if (!exited || !WIFEXITED(status) || WEXITSTATUS(status) != 2 ||
                !log_holds(log, r->says)) {
                jt_proc_dump_log("gateway", log, 4000);
                fail_msg("row %zu (%s %s): want exit 2 saying %s", i, addr,
                         r->vars[0] != NULL ? r->vars[0] : "", r->says);
            }
            assert_false(log_holds(log, "short-tok"));
            assert_false(log_holds(log, TOKEN_F));
        }
        jt_temp_dir_remove(dir);
        if (token_dir[0] != '\0')
            jt_temp_dir_remove(token_dir);
        token_dir[0] = '\0';
    }
}

#define CASE(f, s, t) cmocka_unit_test_setup_teardown(f, s, t)

static const struct CMUnitTest tests[] = {
    CASE(content_type, gateway_setup, gateway_teardown),
    CASE(cors_listed, setup_cors_listed, gateway_teardown),
    CASE(cors_off, gateway_setup, gateway_teardown),
    CASE(task_ids, gateway_setup, gateway_teardown),
    CASE(tokens, setup_tokens, teardown_tokens),
    CASE(tokens_file, setup_tokens_file, teardown_tokens),
    cmocka_unit_test(refusals),
};

JT_UNIT_MAIN(tests)
