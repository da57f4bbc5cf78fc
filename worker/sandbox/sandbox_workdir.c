/* sandbox_workdir.c -- create and remove the sandbox's per-job working directories. */
#include "sandbox_workdir.h"

#include <errno.h>
#include <ftw.h>
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

/* Unreadable directories met by the last make_traversable pass. The runner
 * is single-threaded, and nftw callbacks take no user data. */
static int unreadable_dirs;
/* Whether remove_entry spares the top directory (jt_workdir_empty). */
static int keep_top;

/* Pre-order pass: make every directory writable and searchable by its owner
 * so the depth-first removal below can enter and empty it. */
static int make_traversable(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)ftw;
    if (type == FTW_DNR)
        unreadable_dirs++;
    if (type == FTW_D || type == FTW_DNR)
        chmod(path, (sb->st_mode & 07777) | S_IRWXU);
    return 0;
}

static int remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    if (keep_top && ftw->level == 0)
        return 0;
    int rc = (type == FTW_DP || type == FTW_D) ? rmdir(path) : unlink(path);
    return rc < 0 && errno != ENOENT ? -1 : 0;
}

static int remove_tree(const char *dir)
{
    /* FTW_PHYS: never follow a symlink the candidate planted. */
    /* Each pass opens one more level of directories the candidate locked. */
    for (int pass = 0; pass <= 64; pass++) {
        unreadable_dirs = 0;
        if (nftw(dir, make_traversable, 16, FTW_PHYS) < 0)
            return errno == ENOENT ? 0 : -1;
        if (unreadable_dirs == 0)
            break;
    }
    return nftw(dir, remove_entry, 16, FTW_PHYS | FTW_DEPTH) < 0 ? -1 : 0;
}

int jt_workdir_remove(const char *dir)
{
    keep_top = 0;
    return remove_tree(dir);
}

int jt_workdir_empty(const char *dir)
{
    keep_top = 1;
    int rc = remove_tree(dir);
    keep_top = 0;
    return rc;
}
