/* subscription.c -- ending a NATS subscription without racing the read loop (see the header). */
#include "subscription.h"

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "clock.h"
#include "log.h"

/* Subscriptions whose connection could not prove its read loop moved on. */
static struct {
    pthread_mutex_t lock;
    int n;
    bool warned;
    struct {
        natsConnection *nc;
        natsSubscription *sub;
    } grave[JT_SUBSCRIPTION_GRAVES];
} kept = {.lock = PTHREAD_MUTEX_INITIALIZER};

void jt_subscription_retire(natsConnection *nc, natsSubscription *sub)
{
    if (sub == NULL)
        return;
    natsSubscription_Unsubscribe(sub); /* NATS_INVALID_SUBSCRIPTION when closed already */
    if (nc != NULL && natsConnection_FlushTimeout(nc, JT_SUBSCRIPTION_FLUSH_MS) == NATS_OK) {
        natsSubscription_Destroy(sub);
        return;
    }
    pthread_mutex_lock(&kept.lock);
    if (nc != NULL && kept.n < JT_SUBSCRIPTION_GRAVES) {
        kept.grave[kept.n].nc = nc;
        kept.grave[kept.n].sub = sub;
        kept.n++;
        pthread_mutex_unlock(&kept.lock);
        return;
    }
    bool warn = !kept.warned;
    kept.warned = true;
    pthread_mutex_unlock(&kept.lock);
    if (warn)
        jt_log_warn("NATS: %d subscriptions wait for their connection to close; further ones "
                    "are destroyed after a 100 ms pause",
                    JT_SUBSCRIPTION_GRAVES);
    jt_clock_sleep(0.1);
    natsSubscription_Destroy(sub);
}

void jt_subscription_bury(natsConnection *nc)
{
    pthread_mutex_lock(&kept.lock);
    for (int i = 0; i < kept.n;) {
        if (kept.grave[i].nc != nc) {
            i++;
            continue;
        }
        natsSubscription_Destroy(kept.grave[i].sub);
        kept.grave[i] = kept.grave[--kept.n];
    }
    pthread_mutex_unlock(&kept.lock);
}
