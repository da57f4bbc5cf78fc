/* cli_http.c -- the jouletrace client's requests to the gateway: base URL, bearer token, bounded
 * answers. */
#include "cli_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double jt_cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int jt_cli_buf_add(jt_cli_buf_t *b, const char *p, size_t n)
{
    if (b->over || n > JT_CLI_RESP_MAX - b->len) {
        b->over = 1;
        return -1;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) {
            b->over = 1;
            return -1;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

/* libcurl write callback: into a jt_cli_buf_t; a short count stops an oversized answer. */
static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    return jt_cli_buf_add(ud, p, size * n) == 0 ? size * n : 0;
}

CURL *jt_cli_curl(const jt_cli_t *cli, const char *method, const char *path, double limit_s,
                  struct curl_slist **hdrs, char *errbuf)
{
    char url[JT_CLI_URL_MAX + JT_CLI_PATH_MAX];
    char auth[JT_CLI_TOKEN_MAX + 32];
    *hdrs = NULL;
    if ((size_t)snprintf(url, sizeof url, "%s%s", cli->url, path) >= sizeof url)
        return NULL;
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    errbuf[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(JT_CLI_CONNECT_S * 1000));
    curl_easy_setopt(c, CURLOPT_USERAGENT, "jouletrace-cli/1");
    if (strcmp(method, "GET") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    double left = limit_s;
    if (cli->deadline > 0) {
        left = cli->deadline - jt_cli_now();
        if (left < 0.001)
            left = 0.001;
    }
    if (left > 0)
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(left * 1000) + 1);
    if (cli->token[0]) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", cli->token);
        *hdrs = curl_slist_append(*hdrs, auth);
    }
    *hdrs = curl_slist_append(*hdrs, "Accept: application/json, text/event-stream");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs);
    return c;
}

int jt_cli_transfer_failure(const jt_cli_t *cli, CURLcode rc, const char *errbuf)
{
    const char *why = errbuf && errbuf[0] ? errbuf : curl_easy_strerror(rc);
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        fprintf(stderr, "jouletrace: %s: timed out (%s)\n", cli->url, why);
        return JT_CLI_TIMEOUT;
    }
    fprintf(stderr, "jouletrace: %s: %s\n", cli->url, why);
    return JT_CLI_TRANSPORT;
}

int jt_cli_request(const jt_cli_t *cli, const char *method, const char *path, const char *body,
                   size_t len, jt_cli_resp_t *r)
{
    char errbuf[CURL_ERROR_SIZE];
    struct curl_slist *hdrs = NULL;
    jt_cli_buf_t buf = {0};
    memset(r, 0, sizeof *r);
    CURL *c = jt_cli_curl(cli, method, path, JT_CLI_REQUEST_S, &hdrs, errbuf);
    if (!c) {
        fprintf(stderr, "jouletrace: cannot make a request to %s%s\n", cli->url, path);
        return JT_CLI_TRANSPORT;
    }
    if (body) {
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &buf);
    CURLcode rc = curl_easy_perform(c);
    int code = JT_CLI_OK;
    if (rc != CURLE_OK) {
        if (buf.over)
            fprintf(stderr, "jouletrace: %s%s: the answer is over %u bytes\n", cli->url, path,
                    JT_CLI_RESP_MAX);
        code = buf.over ? JT_CLI_TRANSPORT : jt_cli_transfer_failure(cli, rc, errbuf);
        free(buf.data);
    } else {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
        r->body = buf.data;
        r->len = buf.len;
        if (r->body)
            r->json = json_loadb(r->body, r->len, JSON_DECODE_ANY, NULL);
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    return code;
}

void jt_cli_resp_free(jt_cli_resp_t *r)
{
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

/* The string member key of o, or NULL. */
static const char *str_of(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

int jt_cli_refusal(const jt_cli_resp_t *r, const char *what)
{
    const json_t *env = json_is_object(r->json) ? r->json : NULL;
    const char *error = str_of(env, "error");
    const char *message = str_of(env, "message");
    const char *field = str_of(json_object_get(env, "details"), "field");
    if (error || message) {
        fprintf(stderr, "jouletrace: %s: HTTP %ld %s: %s", what, r->status, error ? error : "",
                message ? message : "");
        if (field)
            fprintf(stderr, " (field %s)", field[0] ? field : "\"\"");
        fputc('\n', stderr);
    } else {
        /* Not the API's envelope: its first line, bounded. */
        const char *b = r->body ? r->body : "";
        int n = (int)strcspn(b, "\r\n");
        fprintf(stderr, "jouletrace: %s: HTTP %ld %.*s\n", what, r->status, n > 200 ? 200 : n, b);
    }
    return r->status >= 400 && r->status < 500 ? JT_CLI_REFUSED : JT_CLI_TRANSPORT;
}
