/* webhook_receiver.h -- the webhook tests' receiver: a tiny HTTP server on 127.0.0.1 that checks
 * signatures.
 *
 * Usage:
 *     const wr_action_t script[] = {{WR_STATUS, 500}, {WR_STATUS, 500}};
 *     wr_t *rx = wr_start(secret, script, 2, NULL);   (then every request gets 200)
 *     ... callback_url "http://127.0.0.1:<wr_port(rx)>/hooks/..." ...
 *     wr_wait_count(rx, 3, 60.0);  wr_request_t q;  wr_request(rx, 2, &q); ... wr_request_free(&q);
 *     wr_stop(rx);
 *
 * One thread accepts connections on a free loopback port and serves them one at a time: it reads
 * the request (head up to 16 KiB, body up to 4 MiB, Content-Length only), records it, and answers
 * with the next action of the script (Connection: close). It verifies each request's
 * X-JouleTrace-Signature itself (HMAC-SHA256 of timestamp "." body with the secret, OpenSSL's
 * one-shot HMAC, computed independently of the gateway's code) and notes whether it matched.
 * wr_start and wr_stop run on the test's main thread; the getters may be called while it serves.
 */
#ifndef JT_TESTS_WEBHOOK_RECEIVER_H
#define JT_TESTS_WEBHOOK_RECEIVER_H

#include <stdbool.h>
#include <stddef.h>

#define WR_MAX_REQUESTS 64
#define WR_HANG_S 30 /* a hanging answer waits this long, or until the client leaves or stop */

typedef enum {
    WR_STATUS,   /* answer with status (and a short body) */
    WR_REDIRECT, /* 302 with Location: the redirect_to URL */
    WR_HANG,     /* read the request, never answer (until WR_HANG_S, the client leaves, or stop) */
    WR_CUT,      /* send half a status line, then close */
} wr_kind_t;

typedef struct {
    wr_kind_t kind;
    int status; /* WR_STATUS */
} wr_action_t;

typedef struct {
    char method[16];
    char path[512];
    char event[64];      /* X-JouleTrace-Event */
    char delivery[256];  /* X-JouleTrace-Delivery */
    char timestamp[32];  /* X-JouleTrace-Timestamp */
    char signature[128]; /* X-JouleTrace-Signature */
    char attempt[16];    /* X-JouleTrace-Attempt */
    char content_type[64];
    char *body; /* NUL-terminated copy (wr_request), owned by the copy */
    size_t body_len;
    bool signature_ok; /* the signature matched the body and the timestamp */
    int answered;      /* the status sent, 0 for a hang or a cut */
} wr_request_t;

typedef struct webhook_receiver wr_t;

/* Start a receiver that answers request i with script[i] (n actions, copied) and every later
 * one with 200; redirect_to (may be NULL) is the Location of WR_REDIRECT. NULL on failure (a
 * line on stderr). */
wr_t *wr_start(const char *secret, const wr_action_t *script, size_t n, const char *redirect_to);

/* Its port on 127.0.0.1. */
int wr_port(const wr_t *rx);

/* Requests received so far (a hanging one counts once its request was read). */
int wr_count(wr_t *rx);

/* Wait until at least n requests came, at most seconds; returns the count then. */
int wr_wait_count(wr_t *rx, int n, double seconds);

/* A copy of request i (0-based) into *q; false when there is no such request. Free the copy
 * with wr_request_free. */
bool wr_request(wr_t *rx, int i, wr_request_t *q);

/* Free what a copy holds. */
void wr_request_free(wr_request_t *q);

/* Stop the thread (a hanging answer ends at once), close the socket, free everything. Safe
 * on NULL. */
void wr_stop(wr_t *rx);

#endif
