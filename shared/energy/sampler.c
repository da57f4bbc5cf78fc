/* sampler.c -- a thread that reads a meter at a fixed rate: wrap safety and power timelines.
 *
 * The thread "jt-sampler" wakes on absolute CLOCK_MONOTONIC deadlines
 * (clock_nanosleep TIMER_ABSTIME, so lateness never accumulates; missed ticks
 * are skipped, not bunched) and reads the meter. The public calls run on the
 * caller's thread; a mutex guards the recording shared with the sampler thread.
 */
#include "sampler.h"
#include "clock.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS_PER_S 1000000000LL
#define MAX_SLEEP_NS (50 * 1000000LL) /* bounds how long jt_sampler_stop waits at low rates */
#define FIRST_CAPACITY 1024

struct jt_sampler {
    jt_meter_t *meter;
    long long period_ns;
    pthread_t thread;
    atomic_bool stop;
    atomic_ulong reads;

    pthread_mutex_t mu; /* guards everything below */
    bool recording;
    bool have_last;
    jt_meter_reading_t last; /* the newest reading, from either thread */
    double t_begin;
    jt_power_point_t *points;
    size_t n, cap;
};

static void sleep_until(jt_sampler_t *s, long long deadline)
{
    for (;;) {
        long long now = jt_clock_now_ns();
        if (now >= deadline || atomic_load(&s->stop))
            return;
        long long until = deadline - now > MAX_SLEEP_NS ? now + MAX_SLEEP_NS : deadline;
        struct timespec ts = {.tv_sec = until / NS_PER_S, .tv_nsec = until % NS_PER_S};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    }
}

/* Take reading r into the recording (mutex held). Readings older than the
 * newest one are ignored: the caller's and the thread's reads may cross. */
static void accept_reading(jt_sampler_t *s, const jt_meter_reading_t *r)
{
    if (s->have_last && r->time <= s->last.time)
        return;
    if (s->recording && s->have_last && s->n < JT_SAMPLER_MAX_POINTS) {
        if (s->n == s->cap) {
            size_t cap = s->cap ? s->cap * 2 : FIRST_CAPACITY;
            if (cap > JT_SAMPLER_MAX_POINTS)
                cap = JT_SAMPLER_MAX_POINTS;
            jt_power_point_t *p = realloc(s->points, cap * sizeof *p);
            if (p != NULL) {
                s->points = p;
                s->cap = cap;
            }
        }
        if (s->n < s->cap) {
            jt_power_point_t *pt = &s->points[s->n++];
            double dt = r->time - s->last.time;
            memset(pt, 0, sizeof *pt);
            pt->time = r->time - s->t_begin;
            size_t nd = jt_meter_domain_count(s->meter);
            for (size_t i = 0; i < nd; i++)
                pt->watts[i] = jt_meter_joules(&s->last, r, i) / dt;
        }
    }
    s->last = *r;
    s->have_last = true;
}

static void *sampler_main(void *arg)
{
    jt_sampler_t *s = arg;
    long long next = jt_clock_now_ns();
    while (!atomic_load(&s->stop)) {
        next += s->period_ns;
        long long now = jt_clock_now_ns();
        if (next < now - s->period_ns) /* fell behind: skip the missed ticks */
            next = now + s->period_ns - (now - next) % s->period_ns;
        sleep_until(s, next);
        if (atomic_load(&s->stop))
            break;
        jt_meter_reading_t r;
        if (jt_meter_read(s->meter, &r, NULL) != JT_OK)
            continue; /* counted as a missed read; the next one catches up on wraps */
        atomic_fetch_add(&s->reads, 1);
        pthread_mutex_lock(&s->mu);
        accept_reading(s, &r);
        pthread_mutex_unlock(&s->mu);
    }
    return NULL;
}

jt_status_t jt_sampler_start(jt_meter_t *m, double hz, jt_sampler_t **out, jt_error_t *err)
{
    if (m == NULL || !(hz >= 1 && hz <= 10000))
        return jt_error_set(err, JT_ERR_INVALID, "hz", "sampler rate %g Hz is outside 1..10000",
                            hz);
    jt_sampler_t *s = calloc(1, sizeof *s);
    if (s == NULL)
        return jt_error_set(err, JT_ERR_NOMEM, "", "out of memory");
    s->meter = m;
    s->period_ns = llround(1e9 / hz);
    atomic_init(&s->stop, false);
    atomic_init(&s->reads, 0);
    int rc = pthread_mutex_init(&s->mu, NULL);
    if (rc != 0) {
        free(s);
        return jt_error_set(err, JT_ERR_SYSTEM, "", "pthread_mutex_init: %s", strerror(rc));
    }
    /* Signals belong to the program's own threads, never to the sampler. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&s->thread, NULL, sampler_main, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pthread_mutex_destroy(&s->mu);
        free(s);
        return jt_error_set(err, JT_ERR_SYSTEM, "", "pthread_create: %s", strerror(rc));
    }
    pthread_setname_np(s->thread, "jt-sampler");
    *out = s;
    return JT_OK;
}

void jt_sampler_stop(jt_sampler_t *s)
{
    if (s == NULL)
        return;
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    pthread_mutex_destroy(&s->mu);
    free(s->points);
    free(s);
}

void jt_sampler_record_begin(jt_sampler_t *s)
{
    jt_meter_reading_t r;
    bool fresh = jt_meter_read(s->meter, &r, NULL) == JT_OK;
    pthread_mutex_lock(&s->mu);
    if (fresh)
        accept_reading(s, &r);
    s->recording = true;
    s->n = 0;
    s->t_begin = s->have_last ? s->last.time : 0.0;
    pthread_mutex_unlock(&s->mu);
}

void jt_sampler_record_end(jt_sampler_t *s, jt_power_point_t **points, size_t *n)
{
    jt_meter_reading_t r;
    bool fresh = jt_meter_read(s->meter, &r, NULL) == JT_OK;
    pthread_mutex_lock(&s->mu);
    if (fresh)
        accept_reading(s, &r); /* the tail since the last tick */
    s->recording = false;
    *points = s->n > 0 ? s->points : NULL;
    *n = s->n;
    if (s->n > 0) {
        s->points = NULL;
        s->cap = 0;
    }
    s->n = 0;
    pthread_mutex_unlock(&s->mu);
}

unsigned long jt_sampler_reads(const jt_sampler_t *s)
{
    return atomic_load(&s->reads);
}
