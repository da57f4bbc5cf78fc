/* sandbox_workdir.c -- create and remove the sandbox's per-job working directories. */
#include "sandbox_workdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int jt_workdir_create(const char *parent, int chown_to, uid_t uid, gid_t gid, char *buf,
                      size_t len)
{
    int n = snprintf(buf, len, "%s/jouletrace-XXXXXX", parent);
    if (n < 0 || (size_t)n >= len) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (mkdtemp(buf) == NULL)
        return -1;
    if (chown_to && chown(buf, uid, gid) < 0) {
        int saved = errno;
        rmdir(buf);
        errno = saved;
        return -1;
    }
    return 0;
}

/* Rounds of empty_at: each one lifts every directory's entries one level up,
 * so a chain of nested directories needs as many rounds as it is deep. The
 * private tmpfs holds at most JT_SANDBOX_TMPFS_INODES entries; this bound is
 * for a working directory on the host's file system. */
#define EMPTY_ROUNDS_MAX 1000000

/* Move every entry of directory `sub` (open) up into `top` under a fresh
 * name. A directory that changes parent must be writable by its owner. */
static void lift_entries(int top, int sub, unsigned long *lifted)
{
    DIR *d = fdopendir(sub);
    if (d == NULL) {
        close(sub);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        struct stat st;
        if (fstatat(sub, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
            fchmodat(sub, e->d_name, 0700, 0);
        for (int tries = 0; tries < 64; tries++) {
            char fresh[40];
            snprintf(fresh, sizeof fresh, ".jt-lifted-%lu", (*lifted)++);
            if (renameat2(sub, e->d_name, top, fresh, RENAME_NOREPLACE) == 0 || errno != EEXIST)
                break;
        }
    }
    closedir(d);
}

/* Remove everything below the open directory top, however deep, without
 * building a path (no PATH_MAX limit) and with two descriptors at most: files
 * and empty directories go at once, and the entries of other directories are
 * lifted into top for the next round. Symlinks are removed, never followed.
 * Nothing else may write below top meanwhile (the runs are gone when the
 * sandbox scrubs). Returns 0, or -1 when entries remain. */
static int empty_at(int top)
{
    unsigned long lifted = 0;
    for (long round = 0; round < EMPTY_ROUNDS_MAX; round++) {
        int again = dup(top);
        DIR *d = again >= 0 ? fdopendir(again) : NULL;
        if (d == NULL) {
            if (again >= 0)
                close(again);
            return -1;
        }
        rewinddir(d); /* the duplicate shares top's offset, left at the end last round */
        bool any = false;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            any = true;
            struct stat st;
            if (fstatat(top, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                continue;
            if (!S_ISDIR(st.st_mode)) {
                unlinkat(top, e->d_name, 0);
                continue;
            }
            if (unlinkat(top, e->d_name, AT_REMOVEDIR) == 0)
                continue;
            fchmodat(top, e->d_name, 0700, 0); /* a directory, checked above */
            int sub = openat(top, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0)
                lift_entries(top, sub, &lifted);
            unlinkat(top, e->d_name, AT_REMOVEDIR); /* empty now, or next round */
        }
        closedir(d);
        if (!any)
            return 0;
    }
    errno = ENOTEMPTY;
    return -1;
}

static int empty_path(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    int rc = empty_at(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int jt_workdir_remove(const char *dir)
{
    if (empty_path(dir) < 0)
        return -1;
    return rmdir(dir) == 0 || errno == ENOENT ? 0 : -1;
}

int jt_workdir_empty(const char *dir)
{
    return empty_path(dir);
}
