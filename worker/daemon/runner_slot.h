/* runner_slot.h -- the job in flight of a worker: its sandbox runner, task id, message and abort bits.
 *
 * The slot is what the job thread and the other threads of the daemon share
 * about the one job being worked on: the cancel subscription (a nats.c
 * thread), the event loop (keepalive, lease loss) and the main thread
 * (shutdown) act on the job in flight through it and never on the next one.
 * One mutex guards the task id, the message and the runner pointer; the
 * abort bits and the stopping flag are atomics. Every function may be called
 * from any thread unless it says "job thread".
 */
#ifndef JT_RUNNER_SLOT_H
#define JT_RUNNER_SLOT_H

#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "job.h"
#include "runner_client.h"

/* Why the job in flight must stop (bits of the slot's abort word). */
enum {
    JT_ABORT_CANCELLED = 1,  /* the client cancelled: store cancelled, ack */
    JT_ABORT_LEASE_LOST = 2, /* the socket is no longer ours: retry elsewhere */
    JT_ABORT_SHUTDOWN = 4,   /* SIGTERM: give the job back */
};

typedef struct {
    pthread_mutex_t lock;                /* guards current, msg and runner */
    char current[JT_MAX_NAME_BYTES + 1]; /* task in flight, "" when idle */
    natsMsg *msg;                        /* its message (keepalive), NULL when idle; borrowed */
    jt_runner_t *runner;                 /* owned; swapped only by the job thread */
    atomic_int abort;                    /* JT_ABORT_* bits of the job in flight */
    atomic_bool stopping;                /* the worker shuts down: take no more jobs */
} jt_runner_slot_t;

/* Take over runner (may be NULL) into caller storage *slot, idle. */
void jt_runner_slot_init(jt_runner_slot_t *slot, jt_runner_t *runner);

/* Destroy the runner and the lock. The slot must be idle and no other thread
 * may use it any more. */
void jt_runner_slot_cleanup(jt_runner_slot_t *slot);

/* Make task_id (with its message msg, borrowed until jt_runner_slot_end) the
 * job in flight and clear the abort bits; when the worker is stopping, the
 * new job starts with JT_ABORT_SHUTDOWN set. Job thread. */
void jt_runner_slot_begin(jt_runner_slot_t *slot, const char *task_id, natsMsg *msg);

/* Forget the message of the job in flight: keepalive no longer touches it
 * (call before acking or nak'ing it). Job thread. */
void jt_runner_slot_release_msg(jt_runner_slot_t *slot);

/* The slot is idle again. Job thread. */
void jt_runner_slot_end(jt_runner_slot_t *slot);

/* Set reason (JT_ABORT_*) on the job in flight and cancel the runner's work,
 * when task_id is that job (NULL: whatever job is in flight). No-op when idle
 * or when task_id is another task. */
void jt_runner_slot_abort(jt_runner_slot_t *slot, int reason, const char *task_id);

/* JT_ABORT_* bits of the job in flight (0: carry on). */
int jt_runner_slot_abort_bits(jt_runner_slot_t *slot);

/* Mark the worker as stopping and abort the job in flight with
 * JT_ABORT_SHUTDOWN. Returns false when it was already stopping. */
bool jt_runner_slot_stop(jt_runner_slot_t *slot);

/* Whether jt_runner_slot_stop was called. */
bool jt_runner_slot_stopping(jt_runner_slot_t *slot);

/* A should-stop callback (ctx is the slot) for waits of the job thread:
 * nonzero when the worker is stopping or the job in flight has abort bits. */
int jt_runner_slot_should_stop(void *ctx);

/* The current runner (NULL after a failed respawn). Job thread: only the job
 * thread swaps it, so the pointer stays valid until it does. */
jt_runner_t *jt_runner_slot_runner(jt_runner_slot_t *slot);

/* Install fresh (may be NULL) as the runner and destroy the old one. Job thread. */
void jt_runner_slot_swap(jt_runner_slot_t *slot, jt_runner_t *fresh);

/* Tell JetStream the job in flight is still being worked on (InProgress).
 * No-op when there is no message. */
void jt_runner_slot_keepalive(jt_runner_slot_t *slot);

/* Whether a job is in flight; its task id into buf (buf may be NULL). */
bool jt_runner_slot_current(jt_runner_slot_t *slot, char *buf, size_t len);

#endif
