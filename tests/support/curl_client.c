/* curl_client.c -- HTTP requests with libcurl to a server of the test on 127.0.0.1. */
#include "curl_client.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* CURLOPT_WRITEFUNCTION into a jt_curl_resp_t: appends, keeps body NUL-terminated;
 * 0 (curl then fails the transfer) past JT_CURL_RESP_MAX or out of memory. */
static size_t jt_curl_on_body(char *p, size_t size, size_t n, void *arg)
{
    jt_curl_resp_t *r = arg;
    size_t k = size * n;
    if (r->len + k > JT_CURL_RESP_MAX)
        return 0;
    char *b = realloc(r->body, r->len + k + 1);
    if (b == NULL)
        return 0;
    memcpy(b + r->len, p, k);
    r->body = b;
    r->len += k;
    r->body[r->len] = '\0';
    return k;
}

/* CURLOPT_HEADERFUNCTION into a jt_curl_resp_t: keeps what fits in headers, drops the rest. */
static size_t jt_curl_on_header(char *p, size_t size, size_t n, void *arg)
{
    jt_curl_resp_t *r = arg;
    size_t k = size * n;
    if (r->hlen + k < sizeof r->headers) {
        memcpy(r->headers + r->hlen, p, k);
        r->hlen += k;
        r->headers[r->hlen] = '\0';
    }
    return k;
}

/* When JT_RESPONSE_LOG names a file, append the answer r to method and path (query included)
 * as one JSON line {method, path, status, content_type, body} (body: the text, null when
 * empty or not UTF-8), for tests/openapi/validate_responses.mjs. One write() with O_APPEND per
 * line, so lines of several threads or processes never interleave. No answer, no line. */
static void jt_curl_log_response(CURL *c, const char *method, const char *path,
                                 const jt_curl_resp_t *r)
{
    const char *file = getenv("JT_RESPONSE_LOG");
    char *ct = NULL;
    if (file == NULL || file[0] == '\0' || r->status == 0)
        return;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    /* NULL (written as null) when empty or not UTF-8 */
    json_t *body = r->body != NULL ? json_stringn(r->body, r->len) : NULL;
    json_t *line = json_pack("{s:s, s:s, s:i, s:s?, s:o?}", "method", method, "path", path,
                             "status", (int)r->status, "content_type", ct, "body", body);
    char *text = line != NULL ? json_dumps(line, JSON_COMPACT) : NULL;
    int fd = text != NULL ? open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644) : -1;
    if (fd >= 0) {
        size_t n = strlen(text);
        text[n] = '\n'; /* replaces the NUL: written by length */
        if (write(fd, text, n + 1) != (ssize_t)(n + 1))
            fprintf(stderr, "curl_client: cannot append to %s\n", file);
        close(fd);
    } else if (text != NULL) {
        fprintf(stderr, "curl_client: cannot open JT_RESPONSE_LOG %s\n", file);
    }
    free(text);
    json_decref(line);
}

void jt_curl_resp_free(jt_curl_resp_t *r)
{
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

int jt_curl_request(int port, const char *method, const char *path, const char *body, long blen,
                    const char *const *hdrs, long timeout_s, jt_curl_resp_t *r)
{
    char url[512];
    memset(r, 0, sizeof *r);
    CURL *c = curl_easy_init();
    if (c == NULL)
        return -1;
    struct curl_slist *list = curl_slist_append(NULL, "Expect:");
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, jt_curl_on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, jt_curl_on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    if (body != NULL) {
        list = curl_slist_append(list, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(blen < 0 ? (long)strlen(body) : blen));
    }
    for (size_t i = 0; hdrs != NULL && hdrs[i] != NULL; i++)
        list = curl_slist_append(list, hdrs[i]);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    jt_curl_log_response(c, method, path, r);
    curl_easy_cleanup(c);
    curl_slist_free_all(list);
    if (r->body != NULL)
        r->json = json_loadb(r->body, r->len, 0, NULL);
    return rc == CURLE_OK ? 0 : -1;
}

int jt_curl_post_all(int port, const char *path, int n, const char *const *bodies, const char *hdr,
                     long timeout_s, jt_curl_resp_t *r)
{
    char url[512];
    CURL *e[JT_CURL_POST_ALL_MAX];
    if (n < 1 || n > JT_CURL_POST_ALL_MAX)
        return -1;
    for (int i = 0; i < n; i++)
        memset(&r[i], 0, sizeof r[i]);
    CURLM *m = curl_multi_init();
    struct curl_slist *list = curl_slist_append(NULL, "Content-Type: application/json");
    int made = 0, rc = -1;
    if (m == NULL || list == NULL || (hdr != NULL && curl_slist_append(list, hdr) == NULL))
        goto out;
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    for (; made < n; made++) {
        if ((e[made] = curl_easy_init()) == NULL)
            goto out;
        curl_easy_setopt(e[made], CURLOPT_URL, url);
        curl_easy_setopt(e[made], CURLOPT_POSTFIELDS, bodies[made]);
        curl_easy_setopt(e[made], CURLOPT_HTTPHEADER, list);
        curl_easy_setopt(e[made], CURLOPT_WRITEFUNCTION, jt_curl_on_body);
        curl_easy_setopt(e[made], CURLOPT_WRITEDATA, &r[made]);
        curl_easy_setopt(e[made], CURLOPT_HEADERFUNCTION, jt_curl_on_header);
        curl_easy_setopt(e[made], CURLOPT_HEADERDATA, &r[made]);
        curl_easy_setopt(e[made], CURLOPT_TIMEOUT, timeout_s);
        curl_easy_setopt(e[made], CURLOPT_NOSIGNAL, 1L);
        curl_multi_add_handle(m, e[made]);
    }
    int running = 1;
    while (running > 0) {
        curl_multi_perform(m, &running);
        curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    for (int i = 0; i < n; i++) {
        curl_easy_getinfo(e[i], CURLINFO_RESPONSE_CODE, &r[i].status);
        jt_curl_log_response(e[i], "POST", path, &r[i]);
        if (r[i].body != NULL)
            r[i].json = json_loadb(r[i].body, r[i].len, 0, NULL);
    }
    rc = 0;
out:
    for (int i = 0; i < made; i++) {
        curl_multi_remove_handle(m, e[i]);
        curl_easy_cleanup(e[i]);
    }
    if (rc != 0)
        for (int i = 0; i < n; i++)
            jt_curl_resp_free(&r[i]);
    curl_slist_free_all(list);
    curl_multi_cleanup(m);
    return rc;
}
