/* gateway_http.c -- the gateway tests' requests and what an answer must look like. */
#include "gateway_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "unit_main.h"

int http(fx_t *fx, const char *method, const char *path, const char *body, long blen,
         const char *const *hdrs, jt_curl_resp_t *r)
{
    return jt_curl_request(fx->port, method, path, body, blen, hdrs, 20, r);
}

long raw_http(const fx_t *fx, const char *req, size_t len, char *out, size_t cap)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)fx->port)};
    struct timeval tv = {.tv_sec = 10};
    size_t n = 0;
    long status = -1;
    out[0] = '\0';
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len) {
        close(fd);
        return -1;
    }
    while (n + 1 < cap) {
        ssize_t r = recv(fd, out + n, cap - 1 - n, 0);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    out[n] = '\0';
    close(fd);
    if (sscanf(out, "HTTP/1.%*c %ld", &status) != 1)
        status = -1;
    return status;
}

const char *jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

void check_envelope(const jt_curl_resp_t *r, const char *error, const char *field)
{
    char hdr[128];
    if (r->json == NULL)
        fail_msg("not JSON: %s", r->body != NULL ? r->body : "(no body)");
    assert_string_equal(jstr(r->json, "error"), error);
    assert_non_null(jstr(r->json, "message"));
    assert_true(json_is_object(json_object_get(r->json, "details")));
    const char *rid = jstr(r->json, "request_id");
    assert_non_null(rid);
    snprintf(hdr, sizeof hdr, "X-Request-Id: %s", rid);
    assert_non_null(strcasestr(r->headers, hdr));
    if (field != NULL)
        assert_string_equal(jstr(json_object_get(r->json, "details"), "field"), field);
}

void check_key_reused(const jt_curl_resp_t *r, const char *existing_id)
{
    assert_int_equal(r->status, 422);
    check_envelope(r, "idempotency_key_reused", "Idempotency-Key");
    assert_non_null(existing_id);
    assert_string_equal(jstr(json_object_get(r->json, "details"), "existing_id"), existing_id);
    assert_null(strcasestr(r->headers, "Idempotent-Replayed"));
}

void post_accepted(fx_t *fx, const char *const *hdrs, jt_curl_resp_t *r)
{
    double deadline = jt_nats_now() + 5.0;
    for (;;) {
        assert_int_equal(http(fx, "POST", MEASURE, GOOD_JOB, -1, hdrs, r), 0);
        if (r->status == 202 || jt_nats_now() > deadline)
            break;
        assert_int_equal(r->status, 503); /* not calibrated yet */
        jt_curl_resp_free(r);
        jt_nats_sleep_ms(50);
    }
    if (r->status != 202)
        fail_msg("POST gave %ld: %s", r->status, r->body);
}
