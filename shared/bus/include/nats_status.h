/* nats_status.h -- the one mapping of nats.c statuses to JouleTrace statuses and messages.
 *
 * Thread-safety: both functions read only the calling thread's last nats.c
 * error; call them on the thread that saw the failure, right after it.
 */
#ifndef JT_NATS_STATUS_H
#define JT_NATS_STATUS_H

#include <nats/nats.h>
#include <stddef.h>

#include "status.h"

/* JT_ERR_TIMEOUT for NATS_TIMEOUT, JT_ERR_NOMEM for NATS_NO_MEMORY, JT_OK for
 * NATS_OK, JT_ERR_IO for everything else (a lost connection, a refused request:
 * worth retrying later). */
jt_status_t jt_nats_status(natsStatus s);

/* "status text: detail" into buf (always NUL-terminated when len > 0), where
 * the detail is the calling thread's last nats.c error text without its
 * "(file.c:line): " prefix, and only when that error has the same status s
 * (otherwise it belongs to an older failure and is left out). Returns buf. */
const char *jt_nats_describe(natsStatus s, char *buf, size_t len);

#endif
