/* curl_client.h -- test helper: HTTP requests with libcurl to a server on 127.0.0.1.
 *
 * Usage:
 *     jt_curl_resp_t r;
 *     if (jt_curl_request(port, "GET", "/api/v1/health", NULL, 0, NULL, 10, &r) == 0)
 *         ... r.status, r.body (NUL-terminated), r.headers, r.json ...
 *     jt_curl_resp_free(&r);
 *
 * Requests go to http://127.0.0.1:<port> only. An answer's body is kept up to
 * JT_CURL_RESP_MAX bytes (a longer one fails the transfer), its headers up to
 * sizeof headers - 1 (the rest is dropped). Static inline functions; call
 * them from one thread.
 */
#ifndef JT_TESTS_CURL_CLIENT_H
#define JT_TESTS_CURL_CLIENT_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JT_CURL_RESP_MAX (8u << 20) /* bytes of one answer's body kept */
#define JT_CURL_POST_ALL_MAX 64     /* requests jt_curl_post_all sends at once */

typedef struct {
    long status; /* HTTP status, 0 when no answer came */
    char *body;  /* NUL-terminated, or NULL when empty */
    size_t len;
    char headers[8192];
    size_t hlen;
    json_t *json; /* body parsed, or NULL */
} jt_curl_resp_t;

/* CURLOPT_WRITEFUNCTION into a jt_curl_resp_t: appends, keeps body NUL-terminated;
 * 0 (curl then fails the transfer) past JT_CURL_RESP_MAX or out of memory. */
static inline size_t jt_curl_on_body(char *p, size_t size, size_t n, void *arg)
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
static inline size_t jt_curl_on_header(char *p, size_t size, size_t n, void *arg)
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

/* Free what r holds and empty it; safe on an emptied r. */
static inline void jt_curl_resp_free(jt_curl_resp_t *r)
{
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

/* One request to http://127.0.0.1:<port><path>: body may be NULL (sent as
 * application/json otherwise), blen < 0 means strlen(body); hdrs is
 * NULL-terminated (may be NULL); the whole transfer within timeout_s. The
 * answer into *r (emptied first; free it with jt_curl_resp_free even on
 * failure). Returns 0 when an answer came, -1 otherwise. */
static inline int jt_curl_request(int port, const char *method, const char *path, const char *body,
                                  long blen, const char *const *hdrs, long timeout_s,
                                  jt_curl_resp_t *r)
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
    curl_easy_cleanup(c);
    curl_slist_free_all(list);
    if (r->body != NULL)
        r->json = json_loadb(r->body, r->len, 0, NULL);
    return rc == CURLE_OK ? 0 : -1;
}

/* POST bodies[0..n) (application/json, and the header hdr when not NULL) to
 * http://127.0.0.1:<port><path> all at once, on n connections (curl multi),
 * each within timeout_s. The answers into r[0..n) (status 0 where none came;
 * free each with jt_curl_resp_free). Returns 0, or -1 when n is out of
 * 1..JT_CURL_POST_ALL_MAX or curl could not be set up (r[] then empty). */
static inline int jt_curl_post_all(int port, const char *path, int n, const char *const *bodies,
                                   const char *hdr, long timeout_s, jt_curl_resp_t *r)
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

#endif
