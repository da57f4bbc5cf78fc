/* sandbox_confine.c -- kernel-enforced confinement of sandbox children and runs. */
#include "sandbox_confine.h"
#include "seccomp_filter.h"
#include "sandbox_workdir.h"

#include <errno.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

static bool private_tmp;            /* /tmp, /var/tmp, /dev/shm are our own tmpfs */
static char scrub_workdir[512];     /* the working directory, emptied between runs */
static const char *const private_tmp_dirs[] = {"/tmp", "/var/tmp", "/dev/shm", "/run/lock"};

static int fail(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "%s: %s", what, strerror(errno));
    return -1;
}

static int set_limit(int resource, rlim_t soft, rlim_t hard)
{
    struct rlimit rl = {.rlim_cur = soft, .rlim_max = hard};
    return setrlimit(resource, &rl);
}

static int arm_parent_death(pid_t expected_parent, char *err, size_t errlen)
{
    /* Armed after the credential change: changing uid clears it. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
        return fail(err, errlen, "prctl(PR_SET_PDEATHSIG)");
    if (getppid() != expected_parent) {
        snprintf(err, errlen, "parent exited before the sandbox was ready");
        return -1;
    }
    return 0;
}

/* As root: a private mount namespace with fresh tmpfs mounts on the working
 * directory (before chdir, so the cwd is the tmpfs) and on the shared
 * temporary directories. Best effort: without it the sandbox still works,
 * with the host's /tmp. */
static void private_mounts(const jt_sandbox_limits_t *lim)
{
    if (geteuid() != 0 || lim->workdir == NULL || unshare(CLONE_NEWNS) < 0 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return;
    char opts[128];
    snprintf(opts, sizeof opts, "size=%ld,mode=0700,uid=%u,gid=%u", JT_SANDBOX_WORKDIR_BYTES,
             (unsigned)(lim->drop_privileges ? lim->uid : 0),
             (unsigned)(lim->drop_privileges ? lim->gid : 0));
    if (mount("tmpfs", lim->workdir, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
        return;
    /* Enter it now: mounting over /tmp below may hide its path. */
    if (chdir(lim->workdir) < 0)
        return;
    snprintf(opts, sizeof opts, "size=%ld,mode=1777", JT_SANDBOX_TMP_BYTES);
    for (size_t i = 0; i < sizeof private_tmp_dirs / sizeof private_tmp_dirs[0]; i++)
        if (access(private_tmp_dirs[i], F_OK) == 0 && /* a host without /run/lock */
            mount("tmpfs", private_tmp_dirs[i], "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
            return;
    private_tmp = true;
}

void jt_sandbox_scrub(void)
{
    if (scrub_workdir[0] != '\0')
        jt_workdir_empty(".");
    if (private_tmp)
        for (size_t i = 0; i < sizeof private_tmp_dirs / sizeof private_tmp_dirs[0]; i++)
            jt_workdir_empty(private_tmp_dirs[i]);
}

int jt_sandbox_enter_child(const jt_sandbox_limits_t *lim, pid_t expected_parent, char *err,
                           size_t errlen)
{
    /* Namespaces need CAP_SYS_ADMIN: only as root, each best effort. Without
     * the network one the seccomp filter still refuses socket creation; the
     * IPC one makes SysV shared memory, semaphores, message queues and POSIX
     * queues private to this child, gone with it; the UTS one keeps a
     * sethostname to the box. */
    if (geteuid() == 0) {
        (void)unshare(CLONE_NEWNET);
        (void)unshare(CLONE_NEWIPC);
        (void)unshare(CLONE_NEWUTS);
    }

    if (lim->workdir != NULL) {
        if (chdir(lim->workdir) < 0)
            return fail(err, errlen, "chdir to the working directory");
        private_mounts(lim); /* re-enters the working directory on its own tmpfs */
        snprintf(scrub_workdir, sizeof scrub_workdir, "%s", lim->workdir);
    }

    if (set_limit(RLIMIT_FSIZE, JT_SANDBOX_FILE_SIZE_BYTES, JT_SANDBOX_FILE_SIZE_BYTES) < 0 ||
        set_limit(RLIMIT_NOFILE, JT_SANDBOX_OPEN_FILES, JT_SANDBOX_OPEN_FILES) < 0 ||
        set_limit(RLIMIT_CORE, 0, 0) < 0 || set_limit(RLIMIT_MEMLOCK, 0, 0) < 0 ||
        set_limit(RLIMIT_MSGQUEUE, 0, 0) < 0)
        return fail(err, errlen, "setrlimit");
    /* RLIMIT_NPROC counts every process of the user: only meaningful (and
     * only safe to set) for the dedicated sandbox user. */
    if (lim->drop_privileges) {
        if (set_limit(RLIMIT_NPROC, JT_SANDBOX_USER_PROCESSES, JT_SANDBOX_USER_PROCESSES) < 0)
            return fail(err, errlen, "setrlimit(RLIMIT_NPROC)");
        if (setgroups(0, NULL) < 0)
            return fail(err, errlen, "setgroups");
        if (setresgid(lim->gid, lim->gid, lim->gid) < 0)
            return fail(err, errlen, "setresgid");
        if (setresuid(lim->uid, lim->uid, lim->uid) < 0)
            return fail(err, errlen, "setresuid");
        if (setresuid(0, 0, 0) == 0) {
            snprintf(err, errlen, "privileges could be regained after dropping them");
            return -1;
        }
    }
    if (arm_parent_death(expected_parent, err, errlen) < 0)
        return -1;
    if (prctl(PR_SET_DUMPABLE, 0) < 0)
        return fail(err, errlen, "prctl(PR_SET_DUMPABLE)");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return fail(err, errlen, "prctl(PR_SET_NO_NEW_PRIVS)");
    return jt_filter_load_base(err, errlen);
}

int jt_sandbox_apply_job(int core, long memory_limit_bytes, long cpu_seconds, char *err,
                         size_t errlen)
{
    if (core >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(core, &set);
        if (sched_setaffinity(0, sizeof set, &set) < 0)
            return fail(err, errlen, "sched_setaffinity");
    }
    rlim_t mem = (rlim_t)memory_limit_bytes;
    rlim_t cpu = (rlim_t)cpu_seconds;
    if (set_limit(RLIMIT_AS, mem, mem) < 0 || set_limit(RLIMIT_CPU, cpu, cpu + 1) < 0)
        return fail(err, errlen, "setrlimit (job limits)");
    return 0;
}

int jt_sandbox_enter_run(pid_t expected_parent, char *err, size_t errlen)
{
    if (setpgid(0, 0) < 0)
        return fail(err, errlen, "setpgid");
    if (arm_parent_death(expected_parent, err, errlen) < 0)
        return -1;
    /* A file over RLIMIT_FSIZE must fail with EFBIG, not kill the run. */
    signal(SIGXFSZ, SIG_IGN);

    return jt_filter_load_run(err, errlen);
}
