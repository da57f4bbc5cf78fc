/* rapl_sysfs.c -- meter backend: RAPL energy counters of one socket from the powercap sysfs tree.
 *
 * Zones are found by their `name` file, never by index: top-level
 * `intel-rapl:N` named `package-<socket>` (and `psys`), and that package's
 * sub-zones `intel-rapl:N:M` named dram/core/uncore, whether they appear
 * nested under the package, at the top level (real hosts list both), or
 * both. Every read opens, reads and closes each energy_uj relative to a kept
 * directory descriptor, so a file replaced by rename(2) is always seen whole
 * and current. Called under meter.c's mutex.
 *
 * Several zones for one package: AMD hosts may list one zone per die, all
 * named package-<socket> (or package-<socket>-die-<d>), that read one
 * package counter. Zones are mirrors when their ranges are equal and, in
 * each probe round where the first zone's counter stood still while the
 * others were read, every other one read the very same value; mirrors count
 * once (the zone with the lowest index). Zones with distinct counters (an
 * Intel multi-die package) are refused: their sum is not supported.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "meter_backend.h"
#include "rapl_zones.h"

#define ZONE_PREFIX "intel-rapl:"
#define PATH_LEN 384
#define MAX_ZONES 256         /* intel-rapl:* entries looked at in one directory */
#define MAX_PACKAGE_ZONES 16  /* zones of one package looked at as possible mirrors */
#define PROBE_ROUNDS 10       /* mirror probe: rounds of reads... */
#define PROBE_GAP_NS 1000000L /* ...this far apart (RAPL updates about every 1 ms) */

/* The package zone chosen and the zones found to mirror it. */
typedef struct {
    size_t n;
    char rel[JT_RAPL_MAX_MIRRORS][64];
} mirrors_t;

typedef struct {
    size_t n;
    int dirfd[JT_METER_MAX_DOMAINS];
    char path[JT_METER_MAX_DOMAINS][PATH_LEN]; /* of energy_uj, for messages */
    char rel[JT_METER_MAX_DOMAINS][64];        /* zone directory under the root */
    char name[JT_METER_MAX_DOMAINS][32];       /* its name file */
    mirrors_t package_mirrors;                 /* of index 0, the package */
} sysfs_state_t;

/* Parse "intel-rapl:A" (*b = -1) or "intel-rapl:A:B"; false for anything else. */
static bool parse_zone_id(const char *name, int *a, int *b)
{
    if (strncmp(name, ZONE_PREFIX, strlen(ZONE_PREFIX)) != 0)
        return false;
    const char *p = name + strlen(ZONE_PREFIX);
    int ids[2] = {-1, -1};
    for (int k = 0; k < 2; k++) {
        if (*p < '0' || *p > '9')
            return false;
        long v = 0;
        while (*p >= '0' && *p <= '9' && v < 1000000)
            v = v * 10 + (*p++ - '0');
        ids[k] = (int)v;
        if (*p == '\0')
            break;
        if (*p != ':' || k == 1)
            return false;
        p++;
    }
    *a = ids[0];
    *b = ids[1];
    return true;
}

/* Read a small text file relative to dirfd into buf (NUL-terminated,
 * trailing newline removed). path names it in messages. */
static jt_status_t read_text_at(int dirfd, const char *file, const char *path, char *buf,
                                size_t len, jt_error_t *err)
{
    int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == EACCES || errno == EPERM)
            return jt_meter_permission_error(err, path);
        return jt_error_set(err, JT_ERR_IO, path, "cannot read %s: %s", path, strerror(errno));
    }
    size_t got = 0;
    for (;;) {
        ssize_t r = read(fd, buf + got, len - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            if (e == EACCES || e == EPERM)
                return jt_meter_permission_error(err, path);
            return jt_error_set(err, JT_ERR_IO, path, "cannot read %s: %s", path, strerror(e));
        }
        if (r == 0 || (got += (size_t)r) == len - 1)
            break;
    }
    close(fd);
    buf[got] = '\0';
    while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == ' '))
        buf[--got] = '\0';
    return JT_OK;
}

static jt_status_t read_u64_at(int dirfd, const char *file, const char *path, uint64_t *out,
                               jt_error_t *err)
{
    char buf[32];
    jt_status_t s = read_text_at(dirfd, file, path, buf, sizeof buf, err);
    if (s != JT_OK)
        return s;
    uint64_t v = 0;
    const char *p = buf;
    if (*p == '\0')
        return jt_error_set(err, JT_ERR_IO, path, "%s is empty", path);
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - 9) / 10)
            return jt_error_set(err, JT_ERR_IO, path, "%s: value out of range", path);
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (*p != '\0')
        return jt_error_set(err, JT_ERR_IO, path, "%s: not a counter value: \"%s\"", path, buf);
    *out = v;
    return JT_OK;
}

/* A zone seen during discovery. */
typedef struct {
    char rel[64]; /* path relative to the root */
    int a, b;
    char name[32];
} zone_t;

static jt_status_t zone_name(int rootfd, const char *root, zone_t *z, jt_error_t *err)
{
    char file[96], path[PATH_LEN];
    snprintf(file, sizeof file, "%.63s/name", z->rel);
    snprintf(path, sizeof path, "%.256s/%s", root, file);
    struct stat sb;
    if (fstatat(rootfd, file, &sb, 0) != 0 && (errno == ENOENT || errno == ENOTDIR)) {
        z->name[0] = '\0'; /* not a zone directory: matches no domain */
        return JT_OK;
    }
    return read_text_at(rootfd, file, path, z->name, sizeof z->name, err);
}

/* Collect every intel-rapl:* entry of directory rel ("." for the root). */
static jt_status_t list_zones(int rootfd, const char *root, const char *rel, zone_t *zones,
                              size_t cap, size_t *n, jt_error_t *err)
{
    int fd = openat(rootfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return jt_error_set(err, JT_ERR_IO, root, "cannot list %s/%s: %s", root, rel, strerror(e));
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL && *n < cap) {
        int a, b;
        if (!parse_zone_id(de->d_name, &a, &b))
            continue;
        zone_t *z = &zones[(*n)++];
        memset(z, 0, sizeof *z);
        if (strcmp(rel, ".") == 0)
            snprintf(z->rel, sizeof z->rel, "%.40s", de->d_name);
        else
            snprintf(z->rel, sizeof z->rel, "%.20s/%.40s", rel, de->d_name);
        z->a = a;
        z->b = b;
    }
    closedir(d);
    return JT_OK;
}

static int subzone_domain(const char *name)
{
    if (strcmp(name, "dram") == 0)
        return JT_DOMAIN_DRAM;
    if (strcmp(name, "core") == 0)
        return JT_DOMAIN_CORE;
    if (strcmp(name, "uncore") == 0)
        return JT_DOMAIN_UNCORE;
    return -1;
}

/* Whether name is "package-<socket>-die-<d>". */
static bool is_die_zone(const char *name, int socket)
{
    char want[32];
    int n = snprintf(want, sizeof want, "package-%d-die-", socket);
    if (strncmp(name, want, (size_t)n) != 0 || name[n] == '\0')
        return false;
    for (const char *p = name + n; *p != '\0'; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

/* Whether zones z[1..n) mirror z[0] (see the top of this file). */
static jt_status_t probe_mirrors(int rootfd, const char *root, zone_t *const *z, size_t n,
                                 bool *all_mirror, jt_error_t *err)
{
    char file[96], path[PATH_LEN];
    uint64_t range0 = 0, range = 0;
    *all_mirror = false;
    for (size_t k = 0; k < n; k++) {
        snprintf(file, sizeof file, "%.63s/max_energy_range_uj", z[k]->rel);
        snprintf(path, sizeof path, "%.256s/%s", root, file);
        jt_status_t s = read_u64_at(rootfd, file, path, k ? &range : &range0, err);
        if (s != JT_OK)
            return s;
        if (k > 0 && range != range0)
            return JT_OK; /* another range: another counter */
    }
    size_t still = 0;
    for (int round = 0; round < PROBE_ROUNDS; round++) {
        if (round > 0)
            jt_clock_sleep((double)PROBE_GAP_NS / 1e9);
        uint64_t v[MAX_PACKAGE_ZONES + 1];
        for (size_t k = 0; k <= n; k++) { /* z[0], the others, z[0] again */
            const zone_t *zk = z[k < n ? k : 0];
            snprintf(file, sizeof file, "%.63s/energy_uj", zk->rel);
            snprintf(path, sizeof path, "%.256s/%s", root, file);
            jt_status_t s = read_u64_at(rootfd, file, path, &v[k], err);
            if (s != JT_OK)
                return s;
        }
        if (v[0] != v[n])
            continue; /* the counter moved during the round: it proves nothing */
        still++;
        for (size_t k = 1; k < n; k++)
            if (v[k] != v[0])
                return JT_OK; /* one still round with another value: distinct counters */
    }
    *all_mirror = still > 0;
    return JT_OK;
}

/* Choose the package zone of socket among the top-level zones: exactly one
 * named package-<socket>, or several (or die zones) that all mirror one
 * counter, the lowest index then standing for them. */
static jt_status_t choose_package(int rootfd, const char *root, int socket, zone_t *top,
                                  size_t ntop, const char *seen, int *pkg, mirrors_t *mirrors,
                                  jt_error_t *err)
{
    char want[32];
    snprintf(want, sizeof want, "package-%d", socket);
    zone_t *cand[MAX_PACKAGE_ZONES];
    size_t n = 0;
    for (int pass = 0; pass < 2 && n == 0; pass++) /* exact names first, then die zones */
        for (size_t i = 0; i < ntop; i++) {
            bool match =
                pass == 0 ? strcmp(top[i].name, want) == 0 : is_die_zone(top[i].name, socket);
            if (top[i].b >= 0 || !match)
                continue;
            if (n == MAX_PACKAGE_ZONES)
                return jt_error_set(err, JT_ERR_IO, root, "more than %d zones for %s under %s",
                                    MAX_PACKAGE_ZONES, want, root);
            size_t k = n++; /* keep them sorted by index */
            for (; k > 0 && cand[k - 1]->a > top[i].a; k--)
                cand[k] = cand[k - 1];
            cand[k] = &top[i];
        }
    if (n == 0)
        return jt_error_set(err, JT_ERR_IO, root,
                            "no RAPL zone named %s under %s (zones: %s); on a machine without "
                            "energy counters set JOULETRACE_METER=estimate",
                            want, root, seen[0] ? seen : "none");
    bool all_mirror = true;
    if (n > 1) {
        jt_status_t s = probe_mirrors(rootfd, root, cand, n, &all_mirror, err);
        if (s != JT_OK)
            return s;
    }
    if (!all_mirror) {
        char list[256] = "";
        for (size_t k = 0; k < n; k++) {
            size_t used = strlen(list);
            snprintf(list + used, sizeof list - used, "%s%.63s=%.31s", k ? ", " : "", cand[k]->rel,
                     cand[k]->name);
        }
        return jt_error_set(err, JT_ERR_IO, root,
                            "%zu zones for %s under %s with distinct counters (%s): summing "
                            "per-die counters is not supported",
                            n, want, root, list);
    }
    *pkg = (int)(cand[0] - top);
    memset(mirrors, 0, sizeof *mirrors);
    for (size_t k = 1; k < n && mirrors->n < JT_RAPL_MAX_MIRRORS; k++)
        memcpy(mirrors->rel[mirrors->n++], cand[k]->rel, sizeof cand[k]->rel);
    return JT_OK;
}

static jt_status_t discover_in(int rootfd, const char *root, int socket, char chosen[][64],
                               mirrors_t *mirrors, zone_t *top, zone_t *sub, jt_error_t *err)
{
    size_t ntop = 0, nsub = 0;
    jt_status_t s = list_zones(rootfd, root, ".", top, MAX_ZONES, &ntop, err);
    if (s != JT_OK)
        return s;
    char seen[256] = "";
    int pkg = -1;
    for (size_t i = 0; i < ntop; i++) {
        if (top[i].b >= 0)
            continue;
        if ((s = zone_name(rootfd, root, &top[i], err)) != JT_OK)
            return s;
        size_t used = strlen(seen);
        snprintf(seen + used, sizeof seen - used, "%s%.63s=%.31s", used ? ", " : "", top[i].rel,
                 top[i].name);
        if (strcmp(top[i].name, "psys") == 0 && chosen[JT_DOMAIN_PSYS][0] == '\0')
            memcpy(chosen[JT_DOMAIN_PSYS], top[i].rel, sizeof top[i].rel);
    }
    s = choose_package(rootfd, root, socket, top, ntop, seen, &pkg, mirrors, err);
    if (s != JT_OK)
        return s;
    memcpy(chosen[JT_DOMAIN_PACKAGE], top[pkg].rel, sizeof top[pkg].rel);

    /* Sub-zones nested under the package first, then any top-level aliases
     * of them; one zone id is taken once. */
    if ((s = list_zones(rootfd, root, top[pkg].rel, sub, MAX_ZONES, &nsub, err)) != JT_OK)
        return s;
    for (size_t i = 0; i < ntop && nsub < 2 * MAX_ZONES; i++)
        if (top[i].b >= 0)
            sub[nsub++] = top[i];
    int taken[2 * MAX_ZONES];
    size_t ntaken = 0;
    for (size_t i = 0; i < nsub; i++) {
        if (sub[i].a != top[pkg].a || sub[i].b < 0)
            continue;
        bool dup = false;
        for (size_t k = 0; k < ntaken; k++)
            dup |= taken[k] == sub[i].b;
        if (dup)
            continue;
        taken[ntaken++] = sub[i].b;
        if ((s = zone_name(rootfd, root, &sub[i], err)) != JT_OK)
            return s;
        int d = subzone_domain(sub[i].name);
        if (d < 0)
            continue;
        if (chosen[d][0] != '\0')
            return jt_error_set(err, JT_ERR_IO, root, "two sub-zones of %s named %s under %s",
                                top[pkg].rel, sub[i].name, root);
        memcpy(chosen[d], sub[i].rel, sizeof sub[i].rel);
    }
    return JT_OK;
}

/* Find the zone of each domain of socket: chosen[d] is its path relative
 * to the root, "" when absent. */
static jt_status_t discover(int rootfd, const char *root, int socket, char chosen[][64],
                            mirrors_t *mirrors, jt_error_t *err)
{
    zone_t *top = calloc(3 * MAX_ZONES, sizeof *top); /* top-level; then nested + aliases */
    if (top == NULL)
        return jt_error_set(err, JT_ERR_NOMEM, "", "out of memory");
    jt_status_t s = discover_in(rootfd, root, socket, chosen, mirrors, top, top + MAX_ZONES, err);
    free(top);
    return s;
}

static void sysfs_close(void *state)
{
    sysfs_state_t *st = state;
    if (st == NULL)
        return;
    for (size_t i = 0; i < st->n; i++)
        close(st->dirfd[i]);
    free(st);
}

static jt_status_t sysfs_open(const jt_meter_config_t *cfg, void **state, jt_meter_layout_t *layout,
                              jt_error_t *err)
{
    const char *root = cfg->powercap_root[0] ? cfg->powercap_root : "/sys/class/powercap";
    int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) {
        if (errno == EACCES)
            return jt_meter_permission_error(err, root);
        return jt_error_set(err, JT_ERR_IO, root,
                            "no powercap tree at %s (%s): this machine exposes no RAPL energy "
                            "counters; set JOULETRACE_METER=estimate to use the CPU-time model",
                            root, strerror(errno));
    }
    char chosen[JT_DOMAIN_PSYS + 1][64];
    memset(chosen, 0, sizeof chosen);
    sysfs_state_t *st = calloc(1, sizeof *st);
    jt_status_t s = st ? discover(rootfd, root, cfg->socket, chosen, &st->package_mirrors, err)
                       : jt_error_set(err, JT_ERR_NOMEM, "", "out of memory");
    memset(layout, 0, sizeof *layout);
    for (int d = 0; s == JT_OK && d <= JT_DOMAIN_PSYS; d++) {
        if (chosen[d][0] == '\0')
            continue;
        size_t i = st->n;
        char path[PATH_LEN];
        snprintf(st->path[i], PATH_LEN, "%.256s/%.63s/energy_uj", root, chosen[d]);
        int fd = openat(rootfd, chosen[d], O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
            s = jt_error_set(err, JT_ERR_IO, root, "cannot open %s/%s: %s", root, chosen[d],
                             strerror(errno));
            break;
        }
        st->dirfd[i] = fd;
        snprintf(st->rel[i], sizeof st->rel[i], "%.63s", chosen[d]);
        snprintf(path, sizeof path, "%.256s/%.63s/name", root, chosen[d]);
        s = read_text_at(fd, "name", path, st->name[i], sizeof st->name[i], err);
        st->n++;
        layout->domain[i] = (jt_domain_t)d;
        snprintf(path, sizeof path, "%.256s/%.63s/max_energy_range_uj", root, chosen[d]);
        if (s == JT_OK)
            s = read_u64_at(fd, "max_energy_range_uj", path, &layout->range_uj[i], err);
        if (s == JT_OK && layout->range_uj[i] == 0)
            s = jt_error_set(err, JT_ERR_IO, path, "%s is 0: cannot handle wraparound", path);
    }
    close(rootfd);
    if (s != JT_OK) {
        sysfs_close(st);
        return s;
    }
    layout->n = st->n;
    *state = st;
    return JT_OK;
}

static jt_status_t sysfs_read(void *state, uint64_t *raw_uj, jt_error_t *err)
{
    sysfs_state_t *st = state;
    for (size_t i = 0; i < st->n; i++) {
        jt_status_t s = read_u64_at(st->dirfd[i], "energy_uj", st->path[i], &raw_uj[i], err);
        if (s != JT_OK)
            return s;
    }
    return JT_OK;
}

const jt_meter_backend_t jt_rapl_sysfs_backend = {
    .kind = JT_METER_RAPL_SYSFS,
    .open = sysfs_open,
    .read = sysfs_read,
    .close = sysfs_close,
};

jt_status_t jt_rapl_sysfs_zones(const jt_meter_config_t *cfg, jt_rapl_zone_t *zones, size_t *n,
                                jt_error_t *err)
{
    void *state = NULL;
    jt_meter_layout_t layout;
    jt_status_t s = sysfs_open(cfg, &state, &layout, err);
    if (s != JT_OK)
        return s;
    const sysfs_state_t *st = state;
    for (size_t i = 0; i < st->n; i++) {
        jt_rapl_zone_t *z = &zones[i];
        memset(z, 0, sizeof *z);
        z->domain = layout.domain[i];
        snprintf(z->zone, sizeof z->zone, "%s", st->rel[i]);
        snprintf(z->name, sizeof z->name, "%s", st->name[i]);
        if (i > 0)
            continue; /* only the package has mirrors */
        z->n_mirrors = st->package_mirrors.n;
        for (size_t k = 0; k < st->package_mirrors.n; k++)
            snprintf(z->mirrors[k], sizeof z->mirrors[k], "%s", st->package_mirrors.rel[k]);
    }
    *n = st->n;
    sysfs_close(state);
    return JT_OK;
}
