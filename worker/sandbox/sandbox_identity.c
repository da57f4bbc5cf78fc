/* sandbox_identity.c -- become a box's supervisor or run uid, with capabilities cut to fit. */
#include "sandbox_identity.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kernel_file.h"
#include "seccomp_filter.h"

static int fail(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "%s: %s", what, strerror(errno));
    return -1;
}

/* Set permitted = effective = mask (bits of the first 32 capabilities), no
 * inheritable ones. glibc has no wrapper; the kernel interface is stable. */
static int set_caps(uint32_t mask)
{
    struct __user_cap_header_struct head = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    memset(data, 0, sizeof data);
    data[0].permitted = data[0].effective = mask;
    return (int)syscall(SYS_capset, &head, data);
}

/* No supplementary groups; real, effective and saved gid and uid = id. */
static int switch_ids(uid_t id, char *err, size_t errlen)
{
    if (setgroups(0, NULL) < 0)
        return fail(err, errlen, "setgroups");
    if (setresgid(id, id, id) < 0)
        return fail(err, errlen, "setresgid");
    if (setresuid(id, id, id) < 0)
        return fail(err, errlen, "setresuid");
    return 0;
}

int jt_identity_become_supervisor(uid_t supervisor, char *err, size_t errlen)
{
    const uint32_t keep = (1u << CAP_SETUID) | (1u << CAP_SETGID) | (1u << CAP_KILL);
    /* The bounding set first: dropping needs CAP_SETPCAP, which goes below. */
    for (int cap = 0; cap <= 63; cap++) {
        if (cap == CAP_SETUID || cap == CAP_SETGID || cap == CAP_KILL)
            continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
            return fail(err, errlen, "prctl(PR_CAPBSET_DROP)");
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return fail(err, errlen, "prctl(PR_CAP_AMBIENT_CLEAR_ALL)");
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        return fail(err, errlen, "prctl(PR_SET_KEEPCAPS)");
    if (switch_ids(supervisor, err, errlen) < 0)
        return -1;
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
        return fail(err, errlen, "prctl(PR_SET_KEEPCAPS)");
    if (set_caps(keep) < 0)
        return fail(err, errlen, "capset");
    return 0;
}

int jt_identity_load_filter(uid_t supervisor, uid_t run, char *err, size_t errlen)
{
    if (jt_filter_load_identity(supervisor, run, err, errlen) < 0)
        return -1;
    /* Root is out of reach now, whatever the capabilities say. */
    if (setresuid(0, 0, 0) == 0) {
        snprintf(err, errlen, "the supervisor could become root again");
        return -1;
    }
    return 0;
}

int jt_identity_become_run(uid_t run, char *err, size_t errlen)
{
    if (setresgid(run, run, run) < 0)
        return fail(err, errlen, "setresgid (run)");
    if (setresuid(run, run, run) < 0)
        return fail(err, errlen, "setresuid (run)");
    if (set_caps(0) < 0)
        return fail(err, errlen, "capset (run)");
    if (setresuid(run - 1, run - 1, run - 1) == 0) {
        snprintf(err, errlen, "a run could become its supervisor's uid");
        return -1;
    }
    return 0;
}

int jt_identity_act_as_run(uid_t supervisor, uid_t run, int on)
{
    uid_t id = on ? run : supervisor;
    if (setresgid(supervisor, id, supervisor) < 0 || setresuid(supervisor, id, supervisor) < 0)
        return -1;
    return 0;
}

int jt_identity_become_plain(uid_t supervisor, char *err, size_t errlen)
{
    if (switch_ids(supervisor, err, errlen) < 0)
        return -1;
    if (setresuid(0, 0, 0) == 0) {
        snprintf(err, errlen, "privileges could be regained after dropping them");
        return -1;
    }
    return 0;
}

int jt_identity_map_userns(uid_t outside_uid, gid_t outside_gid, char *err, size_t errlen)
{
    char map[64];
    if (jt_kernel_file_write("/proc/self/setgroups", "deny") < 0)
        return fail(err, errlen, "writing /proc/self/setgroups");
    snprintf(map, sizeof map, "0 %u 1\n", (unsigned)outside_uid);
    if (jt_kernel_file_write("/proc/self/uid_map", map) < 0)
        return fail(err, errlen, "writing /proc/self/uid_map");
    snprintf(map, sizeof map, "0 %u 1\n", (unsigned)outside_gid);
    if (jt_kernel_file_write("/proc/self/gid_map", map) < 0)
        return fail(err, errlen, "writing /proc/self/gid_map");
    return 0;
}

int jt_identity_drop_all(char *err, size_t errlen)
{
    if (prctl(PR_SET_SECUREBITS,
              SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                  SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED,
              0, 0, 0) < 0)
        return fail(err, errlen, "prctl(PR_SET_SECUREBITS)");
    for (int cap = 0; cap <= 63; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
            return fail(err, errlen, "prctl(PR_CAPBSET_DROP)");
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return fail(err, errlen, "prctl(PR_CAP_AMBIENT_CLEAR_ALL)");
    if (set_caps(0) < 0)
        return fail(err, errlen, "capset");
    return 0;
}
