/* cli_sse.c -- the jouletrace client's reader of the gateway's Server-Sent Events streams. */
#include "cli_sse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The parser's state across libcurl's chunks. */
typedef struct {
    CURL *curl;
    long status;        /* 0 until the first chunk */
    jt_cli_buf_t line;  /* the line being read */
    jt_cli_buf_t data;  /* the event's data lines */
    char event[64];     /* the event's name */
    jt_cli_buf_t other; /* the body of an answer that is not 200 */
    jt_cli_event_fn fn;
    void *ctx;
    bool stopped;  /* fn asked to stop */
    bool too_long; /* a line or an event passed the bound */
    bool after_cr; /* the last byte was '\r' */
} sse_t;

/* One complete line (no end of line): a field, a comment, or the blank line ending an event. */
static bool on_line(sse_t *s, const char *line, size_t n)
{
    if (n == 0) {
        bool go = true;
        if (s->data.len > 0 || s->event[0])
            go =
                s->fn(s->ctx, s->event[0] ? s->event : "message", s->data.data ? s->data.data : "");
        s->data.len = 0;
        if (s->data.data)
            s->data.data[0] = '\0';
        s->event[0] = '\0';
        return go;
    }
    if (line[0] == ':')
        return true; /* comment: keep-alive */
    size_t name_len = strcspn(line, ":");
    const char *value = line + name_len;
    size_t value_len = n - name_len;
    if (value_len > 0) { /* skip ':' and one space */
        value++;
        value_len--;
        if (value_len > 0 && value[0] == ' ') {
            value++;
            value_len--;
        }
    }
    if (name_len == 5 && memcmp(line, "event", 5) == 0) {
        size_t k = value_len < sizeof s->event - 1 ? value_len : sizeof s->event - 1;
        memcpy(s->event, value, k);
        s->event[k] = '\0';
    } else if (name_len == 4 && memcmp(line, "data", 4) == 0) {
        if ((s->data.len > 0 && jt_cli_buf_add(&s->data, "\n", 1) != 0) ||
            jt_cli_buf_add(&s->data, value, value_len) != 0) {
            s->too_long = true;
            return false;
        }
    }
    return true; /* id:, retry: and unknown fields are ignored */
}

/* libcurl write callback: split into lines ("\n", "\r\n" or "\r"); a short count stops. */
static size_t on_chunk(char *p, size_t size, size_t n, void *ud)
{
    sse_t *s = ud;
    size_t total = size * n;
    if (s->status == 0)
        curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &s->status);
    if (s->status != 200)
        return jt_cli_buf_add(&s->other, p, total) == 0 ? total : 0;
    for (size_t i = 0; i < total; i++) {
        char ch = p[i];
        bool after_cr = s->after_cr;
        s->after_cr = ch == '\r';
        if (ch == '\n' && after_cr)
            continue; /* the '\n' of "\r\n" */
        if (ch == '\n' || ch == '\r') {
            bool go = on_line(s, s->line.data ? s->line.data : "", s->line.len);
            s->line.len = 0;
            if (!go) {
                s->stopped = !s->too_long;
                return 0;
            }
        } else if (jt_cli_buf_add(&s->line, &ch, 1) != 0) {
            s->too_long = true;
            return 0;
        }
    }
    return total;
}

int jt_cli_sse_read(const jt_cli_t *cli, const char *path, jt_cli_event_fn fn, void *ctx,
                    jt_cli_resp_t *refusal)
{
    char errbuf[CURL_ERROR_SIZE];
    struct curl_slist *hdrs = NULL;
    sse_t s = {.fn = fn, .ctx = ctx};
    memset(refusal, 0, sizeof *refusal);
    s.curl = jt_cli_curl(cli, "GET", path, 0, &hdrs, errbuf);
    if (!s.curl) {
        fprintf(stderr, "jouletrace: cannot make a request to %s%s\n", cli->url, path);
        return JT_CLI_TRANSPORT;
    }
    curl_easy_setopt(s.curl, CURLOPT_WRITEFUNCTION, on_chunk);
    curl_easy_setopt(s.curl, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(s.curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(s.curl, CURLOPT_LOW_SPEED_TIME, (long)JT_CLI_SSE_IDLE_S);
    CURLcode rc = curl_easy_perform(s.curl);
    int code = JT_CLI_OK;
    if (s.too_long || s.other.over) {
        fprintf(stderr, "jouletrace: %s%s: an event or answer over %u bytes\n", cli->url, path,
                JT_CLI_RESP_MAX);
        code = JT_CLI_TRANSPORT;
    } else if (rc != CURLE_OK && !s.stopped) {
        code = jt_cli_transfer_failure(cli, rc, errbuf);
    } else if (s.status == 0) {
        curl_easy_getinfo(s.curl, CURLINFO_RESPONSE_CODE, &s.status);
    }
    if (code == JT_CLI_OK && s.status != 200) {
        refusal->status = s.status;
        refusal->body = s.other.data;
        refusal->len = s.other.len;
        if (refusal->body)
            refusal->json = json_loadb(refusal->body, refusal->len, JSON_DECODE_ANY, NULL);
        s.other.data = NULL;
    }
    free(s.other.data);
    free(s.line.data);
    free(s.data.data);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(s.curl);
    return code;
}
