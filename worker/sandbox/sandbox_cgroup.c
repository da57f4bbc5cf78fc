/* sandbox_cgroup.c -- create, limit, fill and remove a box slot's cgroup (v2 or v1), and find its
 * CPU accounting. */
#include "sandbox_cgroup.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel_file.h"

#define CGROUP_ROOT "/sys/fs/cgroup"

/* Write text to dir/file. Returns 0 or -1 (errno). */
static int write_file(const char *dir, const char *file, const char *text)
{
    char path[192];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    return jt_kernel_file_write(path, text);
}

static bool exists(const char *path)
{
    return access(path, F_OK) == 0;
}

static int make_dir(const char *path)
{
    return mkdir(path, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

/* v2: enable the memory and pids controllers for our subtree, then the slot. */
static int open_v2(jt_box_cgroup_t *cg, int slot)
{
    const char *parent = CGROUP_ROOT "/jouletrace";
    if (write_file(CGROUP_ROOT, "cgroup.subtree_control", "+memory +pids") < 0 ||
        make_dir(parent) < 0 || write_file(parent, "cgroup.subtree_control", "+memory +pids") < 0)
        return -1;
    snprintf(cg->memory_dir, sizeof cg->memory_dir, "%s/slot-%d", parent, slot);
    return make_dir(cg->memory_dir);
}

/* v1 cpuacct is optional: the box is bounded without it, and the estimate
 * meter then counts the busy time of the whole measurement core. */
static void open_v1_cpuacct(jt_box_cgroup_t *cg, int slot)
{
    const char *parent = CGROUP_ROOT "/cpuacct/jouletrace";
    char dir[sizeof cg->cpuacct_dir];
    snprintf(dir, sizeof dir, "%s/slot-%d", parent, slot);
    if (exists(CGROUP_ROOT "/cpuacct/cpuacct.usage") && make_dir(parent) == 0 && make_dir(dir) == 0)
        memcpy(cg->cpuacct_dir, dir, sizeof dir);
}

static int open_v1(jt_box_cgroup_t *cg, int slot)
{
    static const char *const parents[] = {CGROUP_ROOT "/memory/jouletrace",
                                          CGROUP_ROOT "/pids/jouletrace"};
    for (size_t i = 0; i < 2; i++)
        if (make_dir(parents[i]) < 0)
            return -1;
    snprintf(cg->memory_dir, sizeof cg->memory_dir, "%s/slot-%d", parents[0], slot);
    snprintf(cg->pids_dir, sizeof cg->pids_dir, "%s/slot-%d", parents[1], slot);
    if (make_dir(cg->memory_dir) < 0 || make_dir(cg->pids_dir) < 0)
        return -1;
    char n[32];
    snprintf(n, sizeof n, "%d", JT_BOX_PIDS_MAX);
    if (write_file(cg->pids_dir, "pids.max", n) < 0)
        return -1;
    open_v1_cpuacct(cg, slot);
    return 0;
}

jt_cgroup_mode_t jt_box_cgroup_open(jt_box_cgroup_t *cg, int slot, char *why, size_t whylen)
{
    memset(cg, 0, sizeof *cg);
    if (exists(CGROUP_ROOT "/cgroup.controllers")) {
        if (open_v2(cg, slot) == 0) {
            char n[32];
            snprintf(n, sizeof n, "%d", JT_BOX_PIDS_MAX);
            if (write_file(cg->memory_dir, "pids.max", n) == 0 &&
                write_file(cg->memory_dir, "memory.swap.max", "0") == 0)
                return cg->mode = JT_CGROUP_V2;
        }
        snprintf(why, whylen, "cgroup v2 at %s is not writable or lacks memory/pids: %s",
                 CGROUP_ROOT, strerror(errno));
    } else if (exists(CGROUP_ROOT "/memory/memory.limit_in_bytes") &&
               exists(CGROUP_ROOT "/pids/cgroup.procs")) {
        if (open_v1(cg, slot) == 0)
            return cg->mode = JT_CGROUP_V1;
        snprintf(why, whylen, "cgroup v1 memory/pids hierarchies are not writable: %s",
                 strerror(errno));
    } else {
        snprintf(why, whylen, "no cgroup v2 tree and no v1 memory and pids controllers under %s",
                 CGROUP_ROOT);
    }
    jt_box_cgroup_close(cg);
    return JT_CGROUP_NONE;
}

int jt_box_cgroup_limit(const jt_box_cgroup_t *cg, long memory_limit_bytes)
{
    char n[32];
    snprintf(n, sizeof n, "%ld", memory_limit_bytes + JT_BOX_MEMORY_OVERHEAD_BYTES);
    switch (cg->mode) {
    case JT_CGROUP_V2:
        return write_file(cg->memory_dir, "memory.max", n);
    case JT_CGROUP_V1:
        return write_file(cg->memory_dir, "memory.limit_in_bytes", n);
    default:
        return 0;
    }
}

int jt_box_cgroup_add(jt_box_cgroup_t *cg, pid_t pid)
{
    char n[32];
    snprintf(n, sizeof n, "%d", (int)pid);
    switch (cg->mode) {
    case JT_CGROUP_V2:
        return write_file(cg->memory_dir, "cgroup.procs", n);
    case JT_CGROUP_V1:
        if (write_file(cg->memory_dir, "cgroup.procs", n) < 0 ||
            write_file(cg->pids_dir, "cgroup.procs", n) < 0)
            return -1;
        /* An accounting group the box is not in would count nothing: the
         * group goes, so that whoever reads it finds no file, not a zero. */
        if (cg->cpuacct_dir[0] != '\0' && write_file(cg->cpuacct_dir, "cgroup.procs", n) < 0) {
            rmdir(cg->cpuacct_dir);
            cg->cpuacct_dir[0] = '\0';
        }
        return 0;
    default:
        return 0;
    }
}

void jt_box_cgroup_close(jt_box_cgroup_t *cg)
{
    if (cg->memory_dir[0] != '\0')
        rmdir(cg->memory_dir);
    if (cg->pids_dir[0] != '\0')
        rmdir(cg->pids_dir);
    if (cg->cpuacct_dir[0] != '\0')
        rmdir(cg->cpuacct_dir);
    cg->memory_dir[0] = cg->pids_dir[0] = cg->cpuacct_dir[0] = '\0';
    cg->mode = JT_CGROUP_NONE;
}

const char *jt_box_cgroup_cpu_dir(const jt_box_cgroup_t *cg)
{
    char path[sizeof cg->memory_dir + 16];
    switch (cg->mode) {
    case JT_CGROUP_V2:
        snprintf(path, sizeof path, "%s/cpu.stat", cg->memory_dir);
        return exists(path) ? cg->memory_dir : "";
    case JT_CGROUP_V1:
        return cg->cpuacct_dir;
    default:
        return "";
    }
}

const char *jt_cgroup_mode_name(jt_cgroup_mode_t mode)
{
    return mode == JT_CGROUP_V2 ? "v2" : mode == JT_CGROUP_V1 ? "v1" : "none";
}
