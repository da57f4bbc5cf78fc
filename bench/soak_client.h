/* soak_client.h -- the soak bench's clients: threads that submit trivial jobs and follow them.
 *
 * Each client is one thread with its own libcurl easy handles (one keep-alive connection for
 * POSTs and GETs, one for its event streams) talking to http://127.0.0.1:<port>. It loops:
 * GET /api/v1/health and /api/v1/socket0/status, POST one trivial job, then follows that job
 * to its end, polling GET /api/v1/tasks/{id} every SOAK_POLL_MS (a polling client) or reading
 * GET /api/v1/tasks/{id}/events (a streaming client; a 429 for too many streams makes it poll
 * that job instead). A polling client also asks for health and status every SOAK_SIDE_EVERY
 * polls. A 429, or a 503 with Retry-After, is the designed "come back later": it is counted
 * apart from errors and the client waits as told (1 s without Retry-After). Each client keeps
 * its own figures (soak_stats_t); only the live totals (soak_live_t) are shared.
 * curl_global_init must have run before any client starts.
 */
#ifndef JT_SOAK_CLIENT_H
#define JT_SOAK_CLIENT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define SOAK_POLL_MS 200    /* a polling client's pause between two GETs of its task */
#define SOAK_SIDE_EVERY 10  /* a polling client's polls per health + status pair */
#define SOAK_JOB_WAIT_S 300 /* a job not ended this long after its 202 is an error */

/* The GET routes whose latency is kept. */
typedef enum {
    SOAK_GET_TASK,   /* GET /api/v1/tasks/{id} */
    SOAK_GET_HEALTH, /* GET /api/v1/health */
    SOAK_GET_STATUS, /* GET /api/v1/socket0/status */
    SOAK_GET_PING,   /* GET /ping (the floor only) */
    SOAK_GET_KINDS
} soak_get_t;

/* The path of each soak_get_t ("{id}" for the task route). */
extern const char *const SOAK_GET_PATH[SOAK_GET_KINDS];

/* Error classes: each error is counted in exactly one. */
typedef enum {
    SOAK_ERR_TRANSPORT, /* no HTTP answer (connection, timeout) */
    SOAK_ERR_STATUS,    /* a 5xx other than a designed 503, or an unexpected 4xx */
    SOAK_ERR_JSON,      /* a body that is not the JSON the route promises */
    SOAK_ERR_STUCK,     /* a job not ended within SOAK_JOB_WAIT_S or by the drain deadline */
    SOAK_ERR_FAILED,    /* a job that ended other than completed and correct */
    SOAK_ERR_STREAM,    /* an event stream that ended without its result event */
    SOAK_ERR_KINDS
} soak_err_t;

/* Growable samples in milliseconds (seconds for job times); bounded by the run's length. */
typedef struct {
    double *v;
    size_t n, cap;
} soak_samples_t;

/* What a client counts. */
typedef enum {
    SOAK_POSTS,          /* POSTs answered */
    SOAK_ACCEPTED,       /* POSTs answered 202 */
    SOAK_BUSY_429,       /* designed "retry later" answers (POST, GET or stream): 429 */
    SOAK_BUSY_503,       /* the same: 503 with Retry-After */
    SOAK_BUSY_BARE,      /* of those, answers without a Retry-After header */
    SOAK_SSE_OPENED,     /* streams answered 200 */
    SOAK_SSE_DONE,       /* streams that gave their result */
    SOAK_SSE_REFUSED,    /* streams refused with 429 (too many streams) */
    SOAK_SSE_EVENTS,     /* events received */
    SOAK_JOBS_COMPLETED, /* jobs completed, every test passed */
    SOAK_HEALTH_SHORT,   /* health answers counting fewer live workers than expected */
    SOAK_COUNTS
} soak_count_t;

/* What a client times: each GET route (soak_get_t, ms; its count is the GETs answered), then: */
enum {
    SOAK_T_POST = SOAK_GET_KINDS, /* POST answered 202, ms */
    SOAK_T_SSE_FIRST,             /* stream opened -> first event, ms */
    SOAK_T_JOB,                   /* 202 -> terminal record seen, s */
    SOAK_TIMINGS
};

/* One client's figures, or (soak_stats_merge) all of them. */
typedef struct {
    long n[SOAK_COUNTS];
    long errors[SOAK_ERR_KINDS]; /* by class */
    soak_samples_t t[SOAK_TIMINGS];
    char first_error[320]; /* the first error, in words ("" when none) */
} soak_stats_t;

/* Totals that the main thread reads while clients run (relaxed atomics). */
typedef struct {
    atomic_long requests, jobs, errors;
    atomic_int running; /* client threads not yet ended (soak_client_start adds, the end takes) */
} soak_live_t;

/* What every client shares: the gateway, the schedule, the stop flag. */
typedef struct {
    int port;
    int workers;             /* live workers health should count */
    double until;            /* monotonic seconds: no job is submitted after this */
    double drain_until;      /* jobs still open after this are errors */
    const atomic_int *abort; /* nonzero: leave at once, count nothing more */
    soak_live_t *live;
} soak_plan_t;

/* One client thread. */
typedef struct {
    const soak_plan_t *plan;
    int index;
    bool streams; /* follows its jobs with event streams */
    pthread_t thread;
    bool started;
    soak_stats_t stats;
} soak_client_t;

/* Start c's thread (c->plan, c->index and c->streams set by the caller; c must stay put until
 * soak_client_join). Returns 0, or -1 when the thread cannot be created (c->started false). */
int soak_client_start(soak_client_t *c);

/* Wait for c's thread to end (it ends after plan->until once its job ended, at
 * plan->drain_until, or when *plan->abort is set). Does nothing when it never started. */
void soak_client_join(soak_client_t *c);

/* Total errors in s. */
long soak_stats_errors(const soak_stats_t *s);

/* Add everything of from into into (samples appended; first_error kept when into has none).
 * Returns 0, or -1 when out of memory (counts added, samples partly). */
int soak_stats_merge(soak_stats_t *into, const soak_stats_t *from);

/* Append v to s. Returns 0, or -1 when out of memory (v dropped). */
int soak_samples_add(soak_samples_t *s, double v);

/* Free the samples of s and zero it. */
void soak_stats_cleanup(soak_stats_t *s);

/* The idle floor, on the calling thread: complete one job (POST, then poll it to its end),
 * then on the same keep-alive connection `rounds` times GET /ping and each other route (the task
 * route for that job), back to back with nothing else running; their latencies into s->t.
 * Returns 0, or -1 (a line on stderr) when the job does not complete or a GET fails. */
int soak_floor_measure(int port, int rounds, soak_stats_t *s);

#endif
