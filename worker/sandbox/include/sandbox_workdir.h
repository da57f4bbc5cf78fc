/* sandbox_workdir.h -- per-job temporary working directories of the sandbox. */
#ifndef JT_SANDBOX_WORKDIR_H
#define JT_SANDBOX_WORKDIR_H

#include <stddef.h>
#include <sys/types.h>

/* Create an empty directory "<parent>/jouletrace-XXXXXX", mode 0700, owned by
 * uid:gid when chown_to is nonzero. Writes its path into buf. Returns 0 or -1
 * (errno set; nothing created). */
int jt_workdir_create(const char *parent, int chown_to, uid_t uid, gid_t gid, char *buf,
                      size_t len);

/* Remove dir and everything below it, whatever the candidate left there
 * (read-only directories at any depth, no PATH_MAX limit; symlinks are
 * removed, never followed). Nothing else may write below dir meanwhile.
 * Returns 0, or -1 when something could not be removed. */
int jt_workdir_remove(const char *dir);

/* Remove everything below dir but keep dir itself. Returns 0, or -1 when
 * something could not be removed. */
int jt_workdir_empty(const char *dir);

#endif
