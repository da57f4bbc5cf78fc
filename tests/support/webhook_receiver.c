/* webhook_receiver.c -- the webhook tests' receiver: a tiny HTTP server on 127.0.0.1 that checks
 * signatures. */
#include "webhook_receiver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HEAD_MAX (16 * 1024)
#define BODY_MAX (4 * 1024 * 1024)
#define READ_WAIT_S 10.0
#define SECRET_MAX 1024

struct webhook_receiver {
    int fd;
    int port;
    unsigned char secret[SECRET_MAX];
    size_t secret_len;
    wr_action_t script[WR_MAX_REQUESTS];
    size_t n_script;
    char redirect_to[512];
    pthread_t thread;
    bool started;
    atomic_bool stop;
    pthread_mutex_t lock; /* guards requests and count */
    wr_request_t requests[WR_MAX_REQUESTS];
    int count;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wait until fd is readable, at most until deadline (monotonic seconds) or stop; 1 ready. */
static int wait_readable(wr_t *rx, int fd, double deadline)
{
    while (!atomic_load(&rx->stop)) {
        double left = deadline - now_s();
        if (left <= 0)
            return 0;
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, left > 0.1 ? 100 : (int)(left * 1000) + 1);
        if (r > 0)
            return 1;
        if (r < 0 && errno != EINTR)
            return -1;
    }
    return 0;
}

/* The value of header name in head (NUL-terminated, lines "\r\n"), into out (cap bytes). */
static void header_value(const char *head, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    out[0] = '\0';
    for (const char *line = strstr(head, "\r\n"); line != NULL; line = strstr(line, "\r\n")) {
        line += 2;
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ')
                v++;
            size_t len = strcspn(v, "\r\n");
            if (len >= cap)
                len = cap - 1;
            memcpy(out, v, len);
            out[len] = '\0';
            return;
        }
    }
}

/* Whether q's signature is HMAC-SHA256(secret, timestamp "." body) and its timestamp recent. */
static bool signature_matches(const wr_t *rx, const wr_request_t *q)
{
    size_t tlen = strlen(q->timestamp);
    long long stamp = atoll(q->timestamp);
    if (tlen == 0 || llabs((long long)time(NULL) - stamp) > 300)
        return false;
    unsigned char *data = malloc(tlen + 1 + q->body_len + 1);
    if (data == NULL)
        return false;
    memcpy(data, q->timestamp, tlen);
    data[tlen] = '.';
    memcpy(data + tlen + 1, q->body, q->body_len);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    bool ok = HMAC(EVP_sha256(), rx->secret, (int)rx->secret_len, data, tlen + 1 + q->body_len, mac,
                   &mac_len) != NULL;
    free(data);
    char expect[128] = "sha256=";
    for (unsigned i = 0; ok && i < mac_len; i++)
        snprintf(expect + 7 + 2 * i, 3, "%02x", mac[i]);
    return ok && mac_len == 32 && strcmp(expect, q->signature) == 0;
}

/* Read one request from fd into *q (body owned by q). 0, or -1 when it did not come whole. */
static int read_request(wr_t *rx, int fd, wr_request_t *q)
{
    char *head = malloc(HEAD_MAX + 1);
    size_t len = 0;
    char *end = NULL;
    double deadline = now_s() + READ_WAIT_S;
    if (head == NULL)
        return -1;
    while (end == NULL && len < HEAD_MAX) {
        if (wait_readable(rx, fd, deadline) != 1)
            break;
        ssize_t n = recv(fd, head + len, HEAD_MAX - len, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
        head[len] = '\0';
        end = strstr(head, "\r\n\r\n");
    }
    if (end == NULL) {
        free(head);
        return -1;
    }
    size_t head_len = (size_t)(end - head) + 4;
    char length[32];
    *end = '\0';
    sscanf(head, "%15s %511s", q->method, q->path);
    header_value(head, "X-JouleTrace-Event", q->event, sizeof q->event);
    header_value(head, "X-JouleTrace-Delivery", q->delivery, sizeof q->delivery);
    header_value(head, "X-JouleTrace-Timestamp", q->timestamp, sizeof q->timestamp);
    header_value(head, "X-JouleTrace-Signature", q->signature, sizeof q->signature);
    header_value(head, "X-JouleTrace-Attempt", q->attempt, sizeof q->attempt);
    header_value(head, "Content-Type", q->content_type, sizeof q->content_type);
    header_value(head, "Content-Length", length, sizeof length);
    long want = atol(length);
    if (want < 0 || want > BODY_MAX || (q->body = malloc((size_t)want + 1)) == NULL) {
        free(head);
        return -1;
    }
    size_t have = len - head_len;
    if (have > (size_t)want)
        have = (size_t)want;
    memcpy(q->body, head + head_len, have);
    free(head);
    while (have < (size_t)want && wait_readable(rx, fd, deadline) == 1) {
        ssize_t n = recv(fd, q->body + have, (size_t)want - have, 0);
        if (n <= 0)
            break;
        have += (size_t)n;
    }
    q->body[have] = '\0';
    q->body_len = have;
    if (have < (size_t)want)
        return -1;
    q->signature_ok = signature_matches(rx, q);
    return 0;
}

static void send_text(int fd, const char *text)
{
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t n = send(fd, text + off, len - off, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        off += (size_t)n;
    }
}

/* Serve one connection: read, record, answer with the next action. */
static void serve(wr_t *rx, int fd)
{
    wr_request_t q;
    memset(&q, 0, sizeof q);
    if (read_request(rx, fd, &q) != 0) {
        free(q.body);
        return;
    }
    pthread_mutex_lock(&rx->lock);
    int index = rx->count;
    if (index < WR_MAX_REQUESTS) {
        rx->requests[index] = q;
        rx->count++;
    } else {
        free(q.body);
    }
    pthread_mutex_unlock(&rx->lock);
    wr_action_t a =
        (size_t)index < rx->n_script ? rx->script[index] : (wr_action_t){WR_STATUS, 200};
    char answer[1024];
    int answered = 0;
    switch (a.kind) {
    case WR_STATUS:
        snprintf(answer, sizeof answer,
                 "HTTP/1.1 %d Test\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
                 "Connection: close\r\n\r\nok",
                 a.status);
        send_text(fd, answer);
        answered = a.status;
        break;
    case WR_REDIRECT:
        snprintf(answer, sizeof answer,
                 "HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 0\r\n"
                 "Connection: close\r\n\r\n",
                 rx->redirect_to);
        send_text(fd, answer);
        answered = 302;
        break;
    case WR_HANG: {
        double until = now_s() + WR_HANG_S;
        char sink[256];
        while (wait_readable(rx, fd, until) == 1 && recv(fd, sink, sizeof sink, 0) > 0)
            ; /* until the client gives up (EOF), the hang ends or stop */
        break;
    }
    case WR_CUT:
        send_text(fd, "HTTP/1.1 2");
        break;
    }
    pthread_mutex_lock(&rx->lock);
    if (index < WR_MAX_REQUESTS)
        rx->requests[index].answered = answered;
    pthread_mutex_unlock(&rx->lock);
}

static void *receiver_main(void *arg)
{
    wr_t *rx = arg;
    while (!atomic_load(&rx->stop)) {
        struct pollfd p = {rx->fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        int fd = accept(rx->fd, NULL, NULL);
        if (fd < 0)
            continue;
        serve(rx, fd);
        close(fd);
    }
    return NULL;
}

wr_t *wr_start(const char *secret, const wr_action_t *script, size_t n, const char *redirect_to)
{
    wr_t *rx = calloc(1, sizeof *rx);
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    if (rx == NULL || strlen(secret) > SECRET_MAX || n > WR_MAX_REQUESTS) {
        fprintf(stderr, "wr_start: bad arguments\n");
        free(rx);
        return NULL;
    }
    rx->secret_len = strlen(secret);
    memcpy(rx->secret, secret, rx->secret_len);
    if (n > 0)
        memcpy(rx->script, script, n * sizeof *script);
    rx->n_script = n;
    snprintf(rx->redirect_to, sizeof rx->redirect_to, "%s", redirect_to ? redirect_to : "/");
    atomic_init(&rx->stop, false);
    pthread_mutex_init(&rx->lock, NULL);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rx->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (rx->fd < 0 || bind(rx->fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(rx->fd, 16) != 0 || getsockname(rx->fd, (struct sockaddr *)&a, &alen) != 0 ||
        pthread_create(&rx->thread, NULL, receiver_main, rx) != 0) {
        fprintf(stderr, "wr_start: %s\n", strerror(errno));
        wr_stop(rx);
        return NULL;
    }
    rx->started = true;
    rx->port = ntohs(a.sin_port);
    return rx;
}

int wr_port(const wr_t *rx)
{
    return rx->port;
}

int wr_count(wr_t *rx)
{
    pthread_mutex_lock(&rx->lock);
    int n = rx->count;
    pthread_mutex_unlock(&rx->lock);
    return n;
}

int wr_wait_count(wr_t *rx, int n, double seconds)
{
    double until = now_s() + seconds;
    int have;
    while ((have = wr_count(rx)) < n && now_s() < until) {
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return have;
}

bool wr_request(wr_t *rx, int i, wr_request_t *q)
{
    memset(q, 0, sizeof *q);
    pthread_mutex_lock(&rx->lock);
    bool ok = i >= 0 && i < rx->count;
    if (ok) {
        *q = rx->requests[i];
        q->body = malloc(q->body_len + 1);
        if (q->body != NULL)
            memcpy(q->body, rx->requests[i].body, q->body_len + 1);
        ok = q->body != NULL;
    }
    pthread_mutex_unlock(&rx->lock);
    return ok;
}

void wr_request_free(wr_request_t *q)
{
    free(q->body);
    q->body = NULL;
}

void wr_stop(wr_t *rx)
{
    if (rx == NULL)
        return;
    atomic_store(&rx->stop, true);
    if (rx->started)
        pthread_join(rx->thread, NULL);
    if (rx->fd >= 0)
        close(rx->fd);
    for (int i = 0; i < rx->count; i++)
        free(rx->requests[i].body);
    pthread_mutex_destroy(&rx->lock);
    explicit_bzero(rx->secret, sizeof rx->secret);
    free(rx);
}
