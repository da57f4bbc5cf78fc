/* fake_tree.c -- tiny powercap trees written by hand: zone directories and their energy files. */
#include "fake_tree.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "temp_dir.h"

int jt_fake_tempdir(char *dir, size_t len)
{
    if (jt_temp_dir_make(dir, len, "jt-rapl") == 0)
        return 0;
    fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
    return -1;
}

void jt_fake_tree_remove(const char *path)
{
    jt_temp_dir_remove(path);
}

int jt_fake_write(const char *root, const char *rel, const char *text)
{
    char path[512], tmp[520];
    snprintf(path, sizeof path, "%.250s/%.250s", root, rel);
    snprintf(tmp, sizeof tmp, "%.505s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

int jt_fake_put(const char *root, const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%.250s/%.250s", root, rel);
    for (char *p = path + strlen(root) + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "mkdir %s: %s\n", path, strerror(errno));
            return -1;
        }
        *p = '/';
    }
    return jt_fake_write(root, rel, text);
}

int jt_fake_zone(const char *root, const char *rel, const char *name, uint64_t range_uj,
                 uint64_t energy_uj)
{
    char path[512], text[64];
    snprintf(path, sizeof path, "%.250s/%.250s", root, rel);
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return -1;
    snprintf(path, sizeof path, "%.490s/name", rel);
    snprintf(text, sizeof text, "%s\n", name);
    if (jt_fake_write(root, path, text) != 0)
        return -1;
    snprintf(path, sizeof path, "%.480s/max_energy_range_uj", rel);
    snprintf(text, sizeof text, "%" PRIu64 "\n", range_uj);
    if (jt_fake_write(root, path, text) != 0)
        return -1;
    snprintf(path, sizeof path, "%.490s/energy_uj", rel);
    snprintf(text, sizeof text, "%" PRIu64 "\n", energy_uj);
    return jt_fake_write(root, path, text);
}

int jt_fake_set(const char *root, const char *rel, uint64_t value)
{
    char path[512], text[32];
    snprintf(path, sizeof path, "%.490s/energy_uj", rel);
    snprintf(text, sizeof text, "%" PRIu64 "\n", value);
    return jt_fake_write(root, path, text);
}
