/* bench_tracks.c -- what the bus says about the jobs the pipeline bench posts one at a time.
 *
 * on_record runs on the nats.c callback thread; the rest on the caller's.
 * Both share g_lock, which guards g_tracks and g_n_tracks.
 */
#include "bench_tracks.h"

#include <msgpack.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bus_names.h"
#include "nats_server.h"
#include "value.h"

#define RESULT_WAIT_S 60.0

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;
static jt_track_t g_tracks[JT_TRACKS_MAX];
static size_t g_n_tracks;
static natsSubscription *g_subs[2]; /* progress, result */

/* The track of id, created when new; NULL when the table is full. Call under g_lock. */
static jt_track_t *track_of(const char *id)
{
    for (size_t i = 0; i < g_n_tracks; i++)
        if (strcmp(g_tracks[i].id, id) == 0)
            return &g_tracks[i];
    if (g_n_tracks == JT_TRACKS_MAX)
        return NULL;
    jt_track_t *t = &g_tracks[g_n_tracks++];
    snprintf(t->id, sizeof t->id, "%s", id);
    return t;
}

static json_t *decode_record(natsMsg *msg)
{
    msgpack_unpacked u;
    size_t off = 0;
    jt_error_t err;
    json_t *j = NULL;
    msgpack_unpacked_init(&u);
    if (msgpack_unpack_next(&u, natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg), &off) ==
        MSGPACK_UNPACK_SUCCESS)
        j = jt_value_to_json(&u.data, &err);
    msgpack_unpacked_destroy(&u);
    return j;
}

/* nats.c callback thread: stamp stage and result arrivals. closure: 1 result, 0 progress. */
static void on_record(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)nc;
    (void)sub;
    double now = jt_nats_now();
    bool is_result = closure != NULL;
    const char *subject = natsMsg_GetSubject(msg);
    const char *prefix = is_result ? JT_SUBJECT_RESULT_PREFIX : JT_SUBJECT_PROGRESS_PREFIX;
    json_t *rec = NULL;
    const char *stage = NULL;
    if (!is_result) {
        rec = decode_record(msg);
        stage = json_string_value(json_object_get(rec, "stage"));
    }
    pthread_mutex_lock(&g_lock);
    jt_track_t *t = track_of(subject + strlen(prefix));
    if (t != NULL && is_result && t->done == 0) {
        t->result = decode_record(msg);
        t->done = now;
        pthread_cond_broadcast(&g_cond);
    } else if (t != NULL && stage != NULL) {
        double *at = strcmp(stage, "validating") == 0           ? &t->validating
                     : strcmp(stage, "waiting_for_socket") == 0 ? &t->waiting
                     : strcmp(stage, "measuring") == 0          ? &t->measuring
                                                                : NULL;
        if (at != NULL && *at == 0)
            *at = now;
    }
    pthread_mutex_unlock(&g_lock);
    json_decref(rec);
    natsMsg_Destroy(msg);
}

int jt_tracks_subscribe(natsConnection *nc)
{
    if (natsConnection_Subscribe(&g_subs[0], nc, JT_SUBJECT_PROGRESS_PREFIX ">", on_record, NULL) !=
            NATS_OK ||
        natsConnection_Subscribe(&g_subs[1], nc, JT_SUBJECT_RESULT_PREFIX ">", on_record,
                                 (void *)1) != NATS_OK ||
        natsConnection_Flush(nc) != NATS_OK)
        return -1;
    return 0;
}

void jt_tracks_unsubscribe(void)
{
    natsSubscription_Destroy(g_subs[0]);
    natsSubscription_Destroy(g_subs[1]);
    g_subs[0] = g_subs[1] = NULL;
}

void jt_tracks_free(void)
{
    for (size_t i = 0; i < g_n_tracks; i++)
        json_decref(g_tracks[i].result);
}

int jt_tracks_post_job(jt_bench_poster_t *p, char id[JT_TRACK_ID_LEN + 1], double *posted)
{
    jt_bench_body_t *b = p->body;
    *posted = jt_nats_now();
    long status = jt_bench_http_perform(p->c, b);
    json_t *j = json_loadb(b->data, b->len, 0, NULL);
    const char *tid = json_string_value(json_object_get(j, "task_id"));
    int rc = status == 202 && tid != NULL && strlen(tid) <= JT_TRACK_ID_LEN ? 0 : -1;
    if (rc == 0)
        snprintf(id, JT_TRACK_ID_LEN + 1, "%s", tid);
    else
        fprintf(stderr, "bench_pipeline: POST gave %ld: %.300s\n", status, b->data);
    json_decref(j);
    if (rc == 0) {
        pthread_mutex_lock(&g_lock);
        jt_track_t *t = track_of(id);
        if (t != NULL)
            t->posted = *posted;
        pthread_mutex_unlock(&g_lock);
        rc = t != NULL ? 0 : -1;
    }
    return rc;
}

int jt_tracks_wait_result(const char *id, jt_track_t *out)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)RESULT_WAIT_S;
    int rc = -1;
    pthread_mutex_lock(&g_lock);
    for (;;) {
        jt_track_t *t = track_of(id);
        if (t == NULL)
            break;
        if (t->done != 0) {
            *out = *t;
            rc = 0;
            break;
        }
        if (pthread_cond_timedwait(&g_cond, &g_lock, &until) != 0)
            break;
    }
    pthread_mutex_unlock(&g_lock);
    if (rc != 0)
        fprintf(stderr, "bench_pipeline: no result for task %s within %.0f s\n", id, RESULT_WAIT_S);
    return rc;
}
