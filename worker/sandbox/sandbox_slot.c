/* sandbox_slot.c -- claim a host-wide box slot with an flock'ed file under /run/jouletrace. */
#include "sandbox_slot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* mkdir -p for the two levels below /run, root-only. */
static int make_lock_dir(void)
{
    static const char *const levels[] = {"/run/jouletrace", JT_SANDBOX_SLOT_DIR};
    for (size_t i = 0; i < 2; i++)
        if (mkdir(levels[i], 0700) < 0 && errno != EEXIST)
            return -1;
    return 0;
}

int jt_sandbox_slot_claim(long uid_base, int slots, jt_sandbox_slot_t *slot, char *err,
                          size_t errlen)
{
    slot->index = -1;
    slot->lock_fd = -1;
    if (make_lock_dir() < 0) {
        snprintf(err, errlen, "cannot create %s: %s", JT_SANDBOX_SLOT_DIR, strerror(errno));
        return -1;
    }
    for (int n = 0; n < slots; n++) {
        char path[64];
        snprintf(path, sizeof path, "%s/%d.lock", JT_SANDBOX_SLOT_DIR, n);
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
            snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
            return -1;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            slot->index = n;
            slot->lock_fd = fd;
            slot->supervisor_uid = (uid_t)(uid_base + 2L * n);
            slot->run_uid = (uid_t)(uid_base + 2L * n + 1);
            return 0;
        }
        int saved = errno;
        close(fd);
        if (saved != EWOULDBLOCK) {
            snprintf(err, errlen, "cannot lock %s: %s", path, strerror(saved));
            return -1;
        }
    }
    snprintf(err, errlen,
             "all %d sandbox slots of this host are in use (each runner holds one; raise "
             "JOULETRACE_SANDBOX_SLOTS)",
             slots);
    return -1;
}

void jt_sandbox_slot_release(jt_sandbox_slot_t *slot)
{
    if (slot->lock_fd >= 0)
        close(slot->lock_fd);
    slot->lock_fd = -1;
    slot->index = -1;
}
