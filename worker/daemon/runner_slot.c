/* runner_slot.c -- the job in flight, shared by the job thread, the cancel callback, the loop and main. */
#include "runner_slot.h"

#include <stdio.h>
#include <string.h>

void jt_runner_slot_init(jt_runner_slot_t *slot, jt_runner_t *runner)
{
    memset(slot, 0, sizeof *slot);
    pthread_mutex_init(&slot->lock, NULL);
    slot->runner = runner;
    atomic_init(&slot->abort, 0);
    atomic_init(&slot->stopping, false);
}

void jt_runner_slot_cleanup(jt_runner_slot_t *slot)
{
    jt_runner_destroy(slot->runner);
    slot->runner = NULL;
    pthread_mutex_destroy(&slot->lock);
}

void jt_runner_slot_begin(jt_runner_slot_t *slot, const char *task_id, natsMsg *msg)
{
    pthread_mutex_lock(&slot->lock);
    snprintf(slot->current, sizeof slot->current, "%s", task_id);
    slot->msg = msg;
    atomic_store(&slot->abort, atomic_load(&slot->stopping) ? JT_ABORT_SHUTDOWN : 0);
    pthread_mutex_unlock(&slot->lock);
}

void jt_runner_slot_release_msg(jt_runner_slot_t *slot)
{
    pthread_mutex_lock(&slot->lock);
    slot->msg = NULL;
    pthread_mutex_unlock(&slot->lock);
}

void jt_runner_slot_end(jt_runner_slot_t *slot)
{
    pthread_mutex_lock(&slot->lock);
    slot->current[0] = '\0';
    slot->msg = NULL;
    atomic_store(&slot->abort, 0);
    pthread_mutex_unlock(&slot->lock);
}

void jt_runner_slot_abort(jt_runner_slot_t *slot, int reason, const char *task_id)
{
    pthread_mutex_lock(&slot->lock);
    if (slot->current[0] != '\0' && (task_id == NULL || strcmp(task_id, slot->current) == 0)) {
        atomic_fetch_or(&slot->abort, reason);
        if (slot->runner != NULL)
            jt_runner_cancel(slot->runner); /* ignored by the runner when it is idle */
    }
    pthread_mutex_unlock(&slot->lock);
}

int jt_runner_slot_abort_bits(jt_runner_slot_t *slot)
{
    return atomic_load(&slot->abort);
}

bool jt_runner_slot_stop(jt_runner_slot_t *slot)
{
    if (atomic_exchange(&slot->stopping, true))
        return false;
    jt_runner_slot_abort(slot, JT_ABORT_SHUTDOWN, NULL);
    return true;
}

bool jt_runner_slot_stopping(jt_runner_slot_t *slot)
{
    return atomic_load(&slot->stopping);
}

int jt_runner_slot_should_stop(void *ctx)
{
    jt_runner_slot_t *slot = ctx;
    return atomic_load(&slot->stopping) || atomic_load(&slot->abort) != 0;
}

jt_runner_t *jt_runner_slot_runner(jt_runner_slot_t *slot)
{
    pthread_mutex_lock(&slot->lock);
    jt_runner_t *r = slot->runner;
    pthread_mutex_unlock(&slot->lock);
    return r;
}

void jt_runner_slot_swap(jt_runner_slot_t *slot, jt_runner_t *fresh)
{
    pthread_mutex_lock(&slot->lock);
    jt_runner_t *old = slot->runner;
    slot->runner = fresh;
    pthread_mutex_unlock(&slot->lock);
    jt_runner_destroy(old);
}

void jt_runner_slot_keepalive(jt_runner_slot_t *slot)
{
    pthread_mutex_lock(&slot->lock);
    if (slot->msg != NULL)
        natsMsg_InProgress(slot->msg, NULL);
    pthread_mutex_unlock(&slot->lock);
}

bool jt_runner_slot_current(jt_runner_slot_t *slot, char *buf, size_t len)
{
    pthread_mutex_lock(&slot->lock);
    bool busy = slot->current[0] != '\0';
    if (buf != NULL && len > 0)
        snprintf(buf, len, "%s", slot->current);
    pthread_mutex_unlock(&slot->lock);
    return busy;
}
