/* hostile_host.h -- what the host holds after hostile jobs: marker files, processes, IPC, mounts.
 *
 * The sandbox tests look at the host itself, from outside every sandbox: files the candidates
 * name jt-hostile-* in the host's shared temporary directories, processes whose environment
 * names a sandbox directory under a root, System V objects of a user (/proc/sysvipc), mount
 * points under a directory (/proc/self/mountinfo). Each scan describes what it found into a
 * bounded buffer and returns how many. Needs only libc; one thread.
 */
#ifndef JT_TESTS_HOSTILE_HOST_H
#define JT_TESTS_HOSTILE_HOST_H

#include <stddef.h>
#include <sys/types.h>

/* Remove path and everything below it without following links, however deep the tree (each
 * level is opened relative to its parent, so no path grows past PATH_MAX). 0, or -1 when
 * something could not be removed. */
int hostile_remove_tree(const char *path);

/* Entries named jt-hostile-* in /tmp, /var/tmp, /dev/shm and /run/lock of the host; described
 * into desc and, when remove is set, removed. */
size_t hostile_host_markers(int remove, char *desc, size_t cap);

/* Live processes other than this one whose environment holds JOULETRACE_SANDBOX_DIR=<prefix>...
 * (any sandbox directory under prefix); their pids into pids[0..max). */
size_t hostile_prefix_procs(const char *prefix, pid_t *pids, size_t max, char *desc, size_t cap);

/* System V shared memory segments, semaphore sets and message queues of the host's IPC
 * namespace owned or created by uid. */
size_t hostile_sysv_objects(uid_t uid, char *desc, size_t cap);

/* The key under which the sysv_ipc candidate makes its System V objects. */
#define HOSTILE_SYSV_KEY 0x4A540002L

/* System V objects of the host's IPC namespace with key; described into desc and removed. */
size_t hostile_sysv_key(long key, char *desc, size_t cap);

/* Mount points of this process's mount namespace at or under dir. */
size_t hostile_mounts_under(const char *dir, char *desc, size_t cap);

/* Entries anywhere below dir other than directories (regular files, links, ...), not following
 * links, at most 64 levels deep, plus directories deeper than that. */
size_t hostile_files_under(const char *dir, char *desc, size_t cap);

#endif
