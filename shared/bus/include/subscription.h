/* subscription.h -- ending a NATS subscription without racing nats.c's read loop.
 *
 * libnats 3.4 (the version Debian 12 ships) looks a subscription up for an
 * incoming message and then locks it without holding a reference (fixed
 * upstream in nats.c 3.6, issue #637). A subscription destroyed right after it
 * was unsubscribed can therefore be freed while the read loop is about to lock
 * it: the process aborts in glibc or the read loop blocks for ever. Every
 * subscription of a long-lived connection ends through jt_subscription_retire.
 *
 * Thread-safety: all functions may be called from any thread except a nats.c
 * callback of the same connection (a flush from there would wait on itself).
 */
#ifndef JT_SUBSCRIPTION_H
#define JT_SUBSCRIPTION_H

#include <nats/nats.h>

#define JT_SUBSCRIPTION_FLUSH_MS 1000 /* the round trip that proves the read loop moved on */
#define JT_SUBSCRIPTION_GRAVES 256    /* subscriptions kept until their connection closes */

/* Unsubscribe sub (harmless when it is closed already) and destroy it once the
 * read loop of nc cannot be delivering to it: after a PING/PONG round trip on
 * nc, which the read loop answers only after every message it read before.
 * When the round trip fails (no connection, or no answer within
 * JT_SUBSCRIPTION_FLUSH_MS) sub is kept until jt_subscription_bury(nc), or, when
 * JT_SUBSCRIPTION_GRAVES are kept already, destroyed after a 100 ms pause
 * (logged once). Safe on NULL sub. */
void jt_subscription_retire(natsConnection *nc, natsSubscription *sub);

/* Destroy every subscription of nc that jt_subscription_retire kept. Call only
 * after natsConnection_Close(nc), which joins the read loop. */
void jt_subscription_bury(natsConnection *nc);

#endif
