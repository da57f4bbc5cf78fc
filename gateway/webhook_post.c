/* webhook_post.c -- one webhook request with libcurl: signed JSON POST, bounded, no redirects. */
#include "webhook_post.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#define USER_AGENT "JouleTrace-Webhook/0.1"

typedef struct {
    size_t received; /* response body bytes seen (and dropped) */
    const atomic_bool *stop;
    bool stopped;
} transfer_t;

/* The response body is of no use: count and drop it, and stop past JT_WEBHOOK_RESPONSE_MAX. */
static size_t discard(char *data, size_t size, size_t n, void *arg)
{
    transfer_t *t = arg;
    (void)data;
    size_t bytes = size * n;
    t->received += bytes;
    return t->received > JT_WEBHOOK_RESPONSE_MAX ? 0 : bytes;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    transfer_t *t = arg;
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    if (t->stop != NULL && atomic_load(t->stop)) {
        t->stopped = true;
        return 1; /* abort: the gateway is stopping */
    }
    return 0;
}

/* Append line to *list; false when out of memory (*list unchanged). */
static bool add_header(struct curl_slist **list, const char *line)
{
    struct curl_slist *longer = curl_slist_append(*list, line);
    if (longer == NULL)
        return false;
    *list = longer;
    return true;
}

/* Every option that keeps the request to what the allowlist judged and bounded in time. Returns
 * false when libcurl refused one. */
static bool configure(CURL *c, const char *url, struct curl_slist *hdrs, const char *body,
                      size_t len, transfer_t *t, char *errbuf)
{
    int refused = 0;
    refused |= curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK;
    refused |= curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK;
    refused |= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
    refused |= curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK;
    refused |= curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
    refused |= curl_easy_setopt(c, CURLOPT_MAXREDIRS, 0L) != CURLE_OK;
    /* never a proxy from http_proxy, HTTPS_PROXY or ALL_PROXY, nor a .netrc password */
    refused |= curl_easy_setopt(c, CURLOPT_PROXY, "") != CURLE_OK;
    refused |= curl_easy_setopt(c, CURLOPT_NOPROXY, "*") != CURLE_OK;
    refused |= curl_easy_setopt(c, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED) != CURLE_OK;
    refused |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK; /* threads: no SIGALRM */
    refused |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                                (long)JT_WEBHOOK_CONNECT_TIMEOUT_MS) != CURLE_OK;
    refused |=
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)JT_WEBHOOK_TOTAL_TIMEOUT_MS) != CURLE_OK;
    refused |= curl_easy_setopt(c, CURLOPT_USERAGENT, USER_AGENT) != CURLE_OK;
    refused |= curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK;
    refused |= curl_easy_setopt(c, CURLOPT_POST, 1L) != CURLE_OK;
    refused |= curl_easy_setopt(c, CURLOPT_POSTFIELDS, body) != CURLE_OK;
    refused |= curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) != CURLE_OK;
    refused |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard) != CURLE_OK;
    refused |= curl_easy_setopt(c, CURLOPT_WRITEDATA, t) != CURLE_OK;
    refused |= curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L) != CURLE_OK;
    refused |= curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress) != CURLE_OK;
    refused |= curl_easy_setopt(c, CURLOPT_XFERINFODATA, t) != CURLE_OK;
    return refused == 0;
}

bool jt_webhook_post(const char *url, const char *const *headers, const char *body, size_t len,
                     const atomic_bool *stop, jt_webhook_response_t *r)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    transfer_t t = {0, stop, false};
    struct curl_slist *hdrs = NULL;
    memset(r, 0, sizeof *r);

    /* "Expect:" off: curl would otherwise wait up to a second for "100 Continue" on big bodies. */
    bool ok = add_header(&hdrs, "Content-Type: application/json") && add_header(&hdrs, "Expect:");
    for (size_t i = 0; ok && headers != NULL && headers[i] != NULL && i < JT_WEBHOOK_MAX_HEADERS;
         i++)
        ok = add_header(&hdrs, headers[i]);
    CURL *c = ok ? curl_easy_init() : NULL;
    if (c == NULL) {
        curl_slist_free_all(hdrs);
        snprintf(r->error, sizeof r->error, "out of memory");
        return false;
    }
    CURLcode e = configure(c, url, hdrs, body, len, &t, errbuf) ? curl_easy_perform(c)
                                                                : CURLE_BAD_FUNCTION_ARGUMENT;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    r->aborted = t.stopped;
    /* A 2xx status line that came before a cut or oversized body still counts: the receiver
     * took the delivery, and the body was going to be dropped anyway. */
    if (r->status == 0 || e != CURLE_OK)
        snprintf(r->error, sizeof r->error, "%s",
                 t.stopped                              ? "the gateway stopped during the request"
                 : t.received > JT_WEBHOOK_RESPONSE_MAX ? "response body larger than 65536 bytes"
                 : errbuf[0] != '\0'                    ? errbuf
                                                        : curl_easy_strerror(e));
    curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);
    return r->status >= 200 && r->status <= 299;
}
