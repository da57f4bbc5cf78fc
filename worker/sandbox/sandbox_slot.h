/* sandbox_slot.h -- a host-wide box number for this runner, and the two uids that go with it.
 *
 * Every runner started as root claims one free slot N of
 * JOULETRACE_SANDBOX_SLOTS by holding an exclusive lock on
 * /run/jouletrace/slots/N.lock for as long as it lives. Its sandbox child
 * supervises as uid/gid base+2N and its runs execute candidate code as
 * base+2N+1, so no two boxes on the host, and no run and its supervisor, share
 * a uid. The kernel drops the lock when the runner dies, however it dies.
 */
#ifndef JT_SANDBOX_SLOT_H
#define JT_SANDBOX_SLOT_H

#include <stddef.h>
#include <sys/types.h>

#define JT_SANDBOX_SLOT_DIR "/run/jouletrace/slots"

typedef struct {
    int index;            /* N */
    int lock_fd;          /* held while the slot is ours; -1 when none */
    uid_t supervisor_uid; /* base + 2N, gid alike */
    uid_t run_uid;        /* base + 2N + 1, gid alike */
} jt_sandbox_slot_t;

/* Claim the first free slot of [0, slots). Returns 0, or -1 with a reason in
 * err (all slots busy, or the lock directory cannot be made). */
int jt_sandbox_slot_claim(long uid_base, int slots, jt_sandbox_slot_t *slot, char *err,
                          size_t errlen);

/* Give the slot back (closes the lock). */
void jt_sandbox_slot_release(jt_sandbox_slot_t *slot);

#endif
