/* temp_dir.c -- a test's private temporary directory: made on tmpfs where there is one. */
#include "temp_dir.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int jt_temp_dir_make(char *dir, size_t len, const char *prefix)
{
    snprintf(dir, len, "/dev/shm/%s-XXXXXX", prefix);
    if (mkdtemp(dir) != NULL)
        return 0;
    snprintf(dir, len, "/tmp/%s-XXXXXX", prefix);
    return mkdtemp(dir) != NULL ? 0 : -1;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void jt_temp_dir_remove(const char *path)
{
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}
