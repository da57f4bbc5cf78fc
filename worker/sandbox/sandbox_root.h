/* sandbox_root.h -- the box's own minimal, read-only root file system (pivot_root into it).
 *
 * Made once per sandbox child, as root, inside its private mount namespace,
 * before it drops privileges. The root is a small tmpfs, read-only once
 * built, holding:
 *   /usr (and the interpreter's home when it lies elsewhere) bound read-only,
 *   /bin /lib /lib64 /sbin as the host has them (links into /usr) or bound,
 *   /etc with ld.so.cache and localtime only,
 *   /dev with null, zero, random and urandom bound from the host,
 *   /proc of the child's pid namespace,
 *   fresh size-limited tmpfs mounts owned by the run uid on /sandbox (the
 *   working directory), /tmp, /var/tmp, /dev/shm and /run/lock.
 * Nothing else of the host is there: not the service's checkout or
 * configuration, /home, /root, /etc/shadow, /var/log.
 */
#ifndef JT_SANDBOX_ROOT_H
#define JT_SANDBOX_ROOT_H

#include <sys/types.h>

#define JT_SANDBOX_ROOT_WORKDIR "/sandbox" /* the working directory inside the box */

/* Mount a fresh tmpfs of bytes and inodes on path, mode 0700, owned by
 * owner (uid and gid), nosuid and nodev. Returns 0, or -1 (errno). */
int jt_sandbox_tmpfs(const char *path, long bytes, long inodes, uid_t owner);

/* Build the root on the (empty) directory dir and pivot into it; the
 * writable mounts belong to owner (uid and gid). On success the calling
 * process's root is the new one, its cwd JT_SANDBOX_ROOT_WORKDIR, and the
 * JT_BOX_* bits obtained are returned (JT_BOX_ROOT, JT_BOX_MOUNT_NS, and
 * JT_BOX_PROC when a fresh /proc could be mounted). On failure returns 0 with
 * nothing left mounted on dir; the caller falls back to the host's view. */
unsigned jt_sandbox_make_root(const char *dir, uid_t owner, const char *python_home,
                              long workdir_bytes, long tmp_bytes, long inodes);

#endif
