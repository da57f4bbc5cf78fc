/* publisher.c -- one thread that publishes batches of records and jobs and waits for their acks.
 *
 * Threads: submitters (civetweb workers) queue an entry and sleep on its own
 * condition variable; the publisher thread runs batches; nats.c's ack
 * handler (a nats.c thread) marks entries acknowledged. Everything shared is
 * guarded by p->lock.
 */
#include "publisher.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus_names.h"

typedef struct entry {
    const char *task_id;
    const char *record;
    size_t record_len;
    const uint8_t *job;
    size_t job_len;
    natsMsg *inflight; /* published, not yet acknowledged (pointer identity only) */
    int status;        /* 0, or the HTTP status of the failure */
    const char *why;
    bool done;
    pthread_cond_t cond;
    struct entry *next;
} entry_t;

struct jt_publisher {
    jsCtx *js;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t work; /* entries queued, or stop */
    pthread_cond_t acks; /* an ack of the running phase arrived */
    entry_t *head, *tail;
    bool stop;
    bool joined;     /* jt_publisher_stop joined the thread */
    entry_t **batch; /* the running phase, NULL between phases */
    size_t batch_len;
    size_t acked; /* acks of the running phase */
};

static int failure_status(natsStatus s, jsErrCode code, const char **why)
{
    *why = natsStatus_GetText(s);
    if (s == NATS_MAX_PAYLOAD || code == 10054 /* message size exceeds maximum allowed */)
        return 413;
    if (code == 10077 /* maximum messages exceeded */ || code == 10047 /* insufficient storage */) {
        *why = "the stream is full";
        return 429;
    }
    return 503;
}

/* nats.c thread: the server answered (or the wait expired) for one message. */
static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    jt_publisher_t *p = closure;
    (void)js;
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; p->batch != NULL && i < p->batch_len; i++) {
        entry_t *e = p->batch[i];
        if (e->inflight != msg)
            continue;
        e->inflight = NULL;
        if (pa == NULL)
            e->status = failure_status(pae != NULL ? pae->Err : NATS_ERR,
                                       pae != NULL ? pae->ErrCode : 0, &e->why);
        p->acked++;
        pthread_cond_signal(&p->acks);
        break;
    }
    pthread_mutex_unlock(&p->lock);
    natsMsg_Destroy(msg);
}

/* The message of one entry in one phase, or NULL when out of memory. */
static natsMsg *make_msg(const entry_t *e, bool job)
{
    char subject[256];
    natsMsg *m = NULL;
    if (job) {
        if (natsMsg_Create(&m, JT_SUBJECT_JOBS, NULL, (const char *)e->job, (int)e->job_len) !=
            NATS_OK)
            return NULL;
        if (natsMsgHeader_Set(m, "Nats-Msg-Id", e->task_id) != NATS_OK) {
            natsMsg_Destroy(m);
            return NULL;
        }
        return m;
    }
    snprintf(subject, sizeof subject, "$KV.%s.%s", JT_KV_TASKS, e->task_id);
    if (natsMsg_Create(&m, subject, NULL, e->record, (int)e->record_len) != NATS_OK)
        return NULL;
    return m;
}

static void deadline_after(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Publish the records (job == false) or jobs of the entries still fine, and
 * wait for their acknowledgements. */
static void run_phase(jt_publisher_t *p, entry_t **batch, size_t n, bool job)
{
    natsMsg *msgs[JT_PUBLISHER_MAX_BATCH];
    jsPubOptions po;
    size_t expected = 0;

    jsPubOptions_Init(&po);
    po.MaxWait = JT_PUBLISHER_ACK_WAIT_MS;
    size_t last = n; /* the entry published synchronously, see below */
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < n; i++) {
        msgs[i] = NULL;
        if (batch[i]->status != 0)
            continue;
        msgs[i] = make_msg(batch[i], job);
        if (msgs[i] == NULL) {
            batch[i]->status = 503;
            batch[i]->why = "out of memory";
        }
        last = msgs[i] != NULL ? i : last;
    }
    for (size_t i = 0; i < n; i++)
        batch[i]->inflight = i != last ? msgs[i] : NULL;
    p->batch = batch;
    p->batch_len = n;
    p->acked = 0;
    pthread_mutex_unlock(&p->lock);

    /* All but the last go out asynchronously (buffered); the last one is a
     * synchronous publish, whose direct flush sends the whole buffer at once
     * instead of leaving it to nats.c's flusher thread, which waits 1 ms to
     * gather more. So a phase costs one round trip at any batch size. */
    for (size_t i = 0; i < n; i++) {
        if (msgs[i] == NULL)
            continue;
        natsMsg *m = msgs[i];
        natsStatus s;
        jsErrCode code = 0;
        if (i == last) {
            jsPubAck *pa = NULL;
            s = js_PublishMsg(&pa, p->js, m, &po, &code);
            jsPubAck_Destroy(pa);
            natsMsg_Destroy(m);
            if (s != NATS_OK) {
                pthread_mutex_lock(&p->lock);
                batch[i]->status = failure_status(s, code, &batch[i]->why);
                pthread_mutex_unlock(&p->lock);
            }
            continue;
        }
        s = js_PublishMsgAsync(p->js, &m, &po);
        if (s == NATS_OK) {
            expected++;
            continue;
        }
        natsMsg_Destroy(m);
        pthread_mutex_lock(&p->lock);
        batch[i]->inflight = NULL;
        batch[i]->status = failure_status(s, 0, &batch[i]->why);
        pthread_mutex_unlock(&p->lock);
    }

    struct timespec until;
    deadline_after(&until, JT_PUBLISHER_ACK_WAIT_MS + 1000);
    pthread_mutex_lock(&p->lock);
    while (p->acked < expected) {
        if (pthread_cond_timedwait(&p->acks, &p->lock, &until) == ETIMEDOUT)
            break;
    }
    for (size_t i = 0; i < n; i++) {
        if (batch[i]->inflight != NULL) { /* nats.c still owns it; its late ack matches nothing */
            batch[i]->inflight = NULL;
            batch[i]->status = 503;
            batch[i]->why = "no acknowledgement from JetStream in time";
        }
    }
    p->batch = NULL;
    p->batch_len = 0;
    pthread_mutex_unlock(&p->lock);
}

static void *publisher_main(void *arg)
{
    jt_publisher_t *p = arg;
    entry_t *batch[JT_PUBLISHER_MAX_BATCH];

    for (;;) {
        size_t n = 0;
        pthread_mutex_lock(&p->lock);
        while (p->head == NULL && !p->stop)
            pthread_cond_wait(&p->work, &p->lock);
        if (p->head == NULL) {
            pthread_mutex_unlock(&p->lock);
            break;
        }
        while (p->head != NULL && n < JT_PUBLISHER_MAX_BATCH) {
            batch[n++] = p->head;
            p->head = p->head->next;
        }
        if (p->head == NULL)
            p->tail = NULL;
        pthread_mutex_unlock(&p->lock);

        run_phase(p, batch, n, false);
        run_phase(p, batch, n, true);

        pthread_mutex_lock(&p->lock);
        for (size_t i = 0; i < n; i++) {
            batch[i]->done = true;
            pthread_cond_signal(&batch[i]->cond);
        }
        pthread_mutex_unlock(&p->lock);
    }
    return NULL;
}

jt_status_t jt_publisher_create(jt_publisher_t **out, natsConnection *nc)
{
    jsOptions jo;
    jt_publisher_t *p = calloc(1, sizeof *p);
    if (p == NULL)
        return JT_ERR_NOMEM;
    jsOptions_Init(&jo);
    jo.Wait = JT_PUBLISHER_ACK_WAIT_MS;
    jo.PublishAsync.MaxPending = 4 * JT_PUBLISHER_MAX_BATCH;
    jo.PublishAsync.AckHandler = on_ack;
    jo.PublishAsync.AckHandlerClosure = p;
    if (natsConnection_JetStream(&p->js, nc, &jo) != NATS_OK) {
        free(p);
        return JT_ERR_IO;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->acks, NULL);
    if (pthread_create(&p->thread, NULL, publisher_main, p) != 0) {
        pthread_cond_destroy(&p->acks);
        pthread_cond_destroy(&p->work);
        pthread_mutex_destroy(&p->lock);
        jsCtx_Destroy(p->js);
        free(p);
        return JT_ERR_SYSTEM;
    }
    *out = p;
    return JT_OK;
}

void jt_publisher_stop(jt_publisher_t *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    bool joined = p->joined;
    p->stop = true;
    p->joined = true;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->lock);
    if (!joined) {
        pthread_join(p->thread, NULL);
        jsCtx_Destroy(p->js); /* its reference would keep the connection, and nats.c, alive */
        p->js = NULL;
    }
}

void jt_publisher_destroy(jt_publisher_t *p)
{
    if (p == NULL)
        return;
    jt_publisher_stop(p);
    pthread_cond_destroy(&p->acks);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

int jt_publisher_submit(jt_publisher_t *p, const char *task_id, const char *record,
                        size_t record_len, const uint8_t *job, size_t job_len, const char **why)
{
    entry_t e;
    memset(&e, 0, sizeof e);
    e.task_id = task_id;
    e.record = record;
    e.record_len = record_len;
    e.job = job;
    e.job_len = job_len;
    pthread_cond_init(&e.cond, NULL);

    pthread_mutex_lock(&p->lock);
    if (p->stop) {
        pthread_mutex_unlock(&p->lock);
        pthread_cond_destroy(&e.cond);
        *why = "the gateway is stopping";
        return 503;
    }
    if (p->tail != NULL)
        p->tail->next = &e;
    else
        p->head = &e;
    p->tail = &e;
    pthread_cond_signal(&p->work);
    /* The publisher finishes every queued entry (each phase is bounded by its
     * ack deadline), so this wait needs no timeout of its own. */
    while (!e.done)
        pthread_cond_wait(&e.cond, &p->lock);
    pthread_mutex_unlock(&p->lock);
    pthread_cond_destroy(&e.cond);
    *why = e.why;
    return e.status;
}
