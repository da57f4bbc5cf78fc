/* retry.c -- bounded back-off for NATS operations that fail while the cluster elects a leader. */
#include "retry.h"

#include <time.h>

#include "clock.h"
#include "log.h"

void jt_backoff_init(jt_backoff_t *b, const jt_retry_t *policy)
{
    b->policy = policy;
    b->start_ns = jt_clock_now_ns();
    b->stop_ns = 0;
    b->next_ms = JT_BACKOFF_FIRST_MS;
    b->attempts = 0;
}

double jt_backoff_elapsed(const jt_backoff_t *b)
{
    return (double)(jt_clock_now_ns() - b->start_ns) / 1e9;
}

/* Whether the policy's stop (past its grace) says to give up now. */
static bool stopped(jt_backoff_t *b)
{
    const jt_retry_t *p = b->policy;
    if (p == NULL || p->stop == NULL || !p->stop(p->ctx))
        return false;
    int64_t now = jt_clock_now_ns();
    if (b->stop_ns == 0)
        b->stop_ns = now;
    return now - b->stop_ns >= (int64_t)p->grace_ms * 1000000;
}

bool jt_backoff_wait(jt_backoff_t *b)
{
    const jt_retry_t *p = b->policy;
    int64_t patience_ns = p != NULL ? (int64_t)p->patience_ms * 1000000 : 0;
    int64_t left_ns = b->start_ns + patience_ns - jt_clock_now_ns();
    if (left_ns <= 0 || stopped(b))
        return false;
    int64_t wait_ns = (int64_t)b->next_ms * 1000000;
    if (wait_ns > left_ns)
        wait_ns = left_ns;
    int64_t until = jt_clock_now_ns() + wait_ns;
    for (;;) {
        int64_t rest = until - jt_clock_now_ns();
        if (rest <= 0)
            break;
        if (rest > (int64_t)JT_BACKOFF_SLICE_MS * 1000000)
            rest = (int64_t)JT_BACKOFF_SLICE_MS * 1000000;
        struct timespec ts = {(time_t)(rest / 1000000000), (long)(rest % 1000000000)};
        nanosleep(&ts, NULL);
        if (stopped(b))
            return false;
    }
    b->attempts++;
    b->next_ms = b->next_ms * 2 > JT_BACKOFF_MAX_MS ? JT_BACKOFF_MAX_MS : b->next_ms * 2;
    return true;
}

bool jt_status_temporary(jt_status_t s)
{
    return s == JT_ERR_TIMEOUT || s == JT_ERR_IO;
}

bool jt_nats_temporary(natsStatus s, jsErrCode jerr)
{
    switch (jerr) {
    case JSClusterIncompleteErr:
    case JSClusterNoPeersErr:
    case JSClusterNotAvailErr:
    case JSClusterNotLeaderErr:
    case JSInsufficientResourcesErr:
    case JSRaftGeneralErr:
        return true;
    default:
        break;
    }
    return s == NATS_TIMEOUT || s == NATS_NO_RESPONDERS || s == NATS_CONNECTION_DISCONNECTED ||
           s == NATS_NOT_YET_CONNECTED || s == NATS_IO_ERROR;
}

jt_status_t jt_retry_run(const jt_retry_t *policy, const char *task_id, const char *what,
                         jt_attempt_fn attempt, void *ctx, jt_error_t *err)
{
    jt_backoff_t b;
    jt_backoff_init(&b, policy);
    for (;;) {
        jt_status_t s = attempt(ctx, err);
        if (!jt_status_temporary(s)) {
            if (s == JT_OK && b.attempts > 0)
                jt_log(JT_LOG_INFO, task_id, "%s after %.1f s of retries", what,
                       jt_backoff_elapsed(&b));
            return s;
        }
        if (b.attempts == 0)
            jt_log(JT_LOG_WARN, task_id, "%s; retrying with back-off", err->message);
        if (!jt_backoff_wait(&b))
            return s;
    }
}
