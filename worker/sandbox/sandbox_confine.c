/* sandbox_confine.c -- kernel-enforced confinement of sandbox children and runs. */
#include "sandbox_confine.h"
#include "kernel_file.h"
#include "sandbox_identity.h"
#include "sandbox_root.h"
#include "sandbox_workdir.h"
#include "seccomp_filter.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mount.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <linux/limits.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

static bool private_tmp;            /* /tmp, /var/tmp, /dev/shm are our own tmpfs */
static char scrub_workdir[512];     /* the working directory's absolute path in the box */
static bool box_uids;               /* the runs switch to run_uid */
static bool private_ipc;            /* SysV objects are the box's own: scrubbed between runs */
static uid_t box_supervisor_uid, box_run_uid;
#define IPC_OBJECTS_MAX 32768 /* the kernel's own limit per kind is lower */
#define JT_SANDBOX_EXIT_IDENTITY 6

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
    if (expected_parent != 0 && getppid() != expected_parent) {
        snprintf(err, errlen, "parent exited before the sandbox was ready");
        return -1;
    }
    return 0;
}

/* As root: a private mount namespace, and in it the box's own root
 * (sandbox_root.h); where that cannot be made, fresh tmpfs mounts, owned by
 * the run uid, on the working directory (before chdir, so the cwd is the
 * tmpfs) and on the shared temporary directories, and /proc of the child's
 * own pid namespace. Best effort: without it the sandbox still works, with
 * the host's /tmp. Returns the JT_BOX_* bits obtained. */
static unsigned private_mounts(const jt_sandbox_limits_t *lim)
{
    if (geteuid() != 0 || lim->workdir == NULL || unshare(CLONE_NEWNS) < 0 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return 0;
    unsigned owner = (unsigned)(lim->drop_privileges ? lim->run_uid : 0);
    unsigned got =
        jt_sandbox_make_root(lim->workdir, owner, lim->python_home, JT_SANDBOX_WORKDIR_BYTES,
                             JT_SANDBOX_TMP_BYTES, JT_SANDBOX_TMPFS_INODES);
    if (got != 0) {
        private_tmp = true;
        return got;
    }
    /* No root of its own (pivot_root refused): the host's tree, with private
     * temporary directories. */
    if (chdir(lim->workdir) < 0)
        return 0;
    /* A fresh /proc of our pid namespace: the runs see the box's processes
     * only. Refused where the host's /proc is partly masked (containers). */
    if (getpid() == 1 &&
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0)
        got |= JT_BOX_PROC;
    if (jt_sandbox_tmpfs(lim->workdir, JT_SANDBOX_WORKDIR_BYTES, JT_SANDBOX_TMPFS_INODES, owner) <
        0)
        return got;
    /* Enter it now: mounting over /tmp below may hide its path. */
    if (chdir(lim->workdir) < 0)
        return got;
    for (size_t i = 0; i < sizeof private_tmp_dirs / sizeof private_tmp_dirs[0]; i++)
        if (access(private_tmp_dirs[i], F_OK) == 0 && /* a host without /run/lock */
            jt_sandbox_tmpfs(private_tmp_dirs[i], JT_SANDBOX_TMP_BYTES, JT_SANDBOX_TMPFS_INODES,
                             owner) < 0)
            return got;
    private_tmp = true;
    return got | JT_BOX_MOUNT_NS;
}

/* Where /proc/sys is mounted read-only (a container's /proc, systemd's
 * ProtectKernelTunables), the IPC sysctls of the box's own namespace are still
 * its to set: a fresh procfs on /proc, in a private mount namespace, has them
 * writable. Needs CAP_SYS_ADMIN (root). Returns 0 or -1 (errno). */
static int writable_proc_sys(void)
{
    if (access("/proc/sys/kernel/shmmax", W_OK) == 0 || errno != EROFS)
        return 0;
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        return -1;
    return 0;
}

/* In the box's fresh IPC namespace (its sysctls are its own): System V
 * shared memory at most JT_SANDBOX_SHM_BYTES in all, a few segments and
 * queues, so that memory outside the address-space limit stays small even
 * without a cgroup. Returns 0 or -1. */
static int limit_ipc(void)
{
    if (writable_proc_sys() < 0)
        return -1;
    char v[32];
    long page = sysconf(_SC_PAGESIZE);
    struct {
        const char *path;
        long value;
    } knobs[] = {{"/proc/sys/kernel/shmmax", JT_SANDBOX_SHM_BYTES},
                 {"/proc/sys/kernel/shmall", JT_SANDBOX_SHM_BYTES / (page > 0 ? page : 4096)},
                 {"/proc/sys/kernel/shmmni", 64},
                 {"/proc/sys/kernel/msgmni", 16}};
    for (size_t i = 0; i < sizeof knobs / sizeof knobs[0]; i++) {
        snprintf(v, sizeof v, "%ld", knobs[i].value);
        if (jt_kernel_file_write(knobs[i].path, v) < 0)
            return -1;
    }
    return 0;
}

/* Remove every System V shared memory segment, semaphore set and message
 * queue of the box's own IPC namespace (never the host's). The _STAT_ANY
 * commands find objects whatever their mode (a run may set it to 0). Returns
 * 0 when none is left, -1 otherwise. */
static int remove_ipc_objects(void)
{
    struct shm_info shm;
    int last = shmctl(0, SHM_INFO, (struct shmid_ds *)(void *)&shm);
    for (int i = 0; i <= last && i < IPC_OBJECTS_MAX; i++) {
        struct shmid_ds ds;
        int id = shmctl(i, SHM_STAT_ANY, &ds);
        if (id >= 0)
            shmctl(id, IPC_RMID, NULL);
    }
    struct seminfo sem;
    last = semctl(0, 0, SEM_INFO, &sem);
    for (int i = 0; i <= last && i < IPC_OBJECTS_MAX; i++) {
        struct semid_ds ds;
        int id = semctl(i, 0, SEM_STAT_ANY, &ds);
        if (id >= 0)
            semctl(id, 0, IPC_RMID);
    }
    struct msginfo msg;
    last = msgctl(0, MSG_INFO, (struct msqid_ds *)(void *)&msg);
    for (int i = 0; i <= last && i < IPC_OBJECTS_MAX; i++) {
        struct msqid_ds ds;
        int id = msgctl(i, MSG_STAT_ANY, &ds);
        if (id >= 0)
            msgctl(id, IPC_RMID, NULL);
    }
    /* what is left now: segments, semaphore sets, queues */
    if (shmctl(0, SHM_INFO, (struct shmid_ds *)(void *)&shm) < 0 ||
        semctl(0, 0, SEM_INFO, &sem) < 0 ||
        msgctl(0, MSG_INFO, (struct msqid_ds *)(void *)&msg) < 0)
        return -1;
    return shm.used_ids == 0 && sem.semusz == 0 && msg.msgpool == 0 ? 0 : -1;
}

/* A top directory of the box's writable state back to how it was made: mode
 * 0700, no extended attributes (user xattrs, ACLs), fixed times, then
 * emptied. Runs own it, so they may have changed any of that to carry state
 * to the next run. Returns 0, or -1 when something stays. */
static int reset_top(const char *dir)
{
    static char names[XATTR_LIST_MAX]; /* the kernel's bound on one list */
    if (chmod(dir, 0700) < 0)
        return -1;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = flistxattr(fd, names, sizeof names);
    for (ssize_t i = 0; i < n; i += (ssize_t)strlen(names + i) + 1)
        if (fremovexattr(fd, names + i) < 0 && errno != ENODATA)
            n = -1;
    const struct timespec epoch[2] = {{0, 0}, {0, 0}};
    int rc = n < 0 || flistxattr(fd, names, sizeof names) != 0 || futimens(fd, epoch) < 0 ? -1 : 0;
    close(fd);
    if (jt_workdir_empty(dir) < 0)
        rc = -1;
    return rc;
}

int jt_sandbox_scrub(void)
{
    /* What runs left is the run uid's: remove it as that uid. */
    bool as_run = box_uids && jt_identity_act_as_run(box_supervisor_uid, box_run_uid, 1) == 0;
    int rc = 0;
    if (scrub_workdir[0] != '\0' && reset_top(scrub_workdir) < 0)
        rc = -1;
    if (private_tmp)
        for (size_t i = 0; i < sizeof private_tmp_dirs / sizeof private_tmp_dirs[0]; i++)
            if (access(private_tmp_dirs[i], F_OK) == 0 && reset_top(private_tmp_dirs[i]) < 0)
                rc = -1;
    if (private_ipc && remove_ipc_objects() < 0)
        rc = -1;
    if (as_run && jt_identity_act_as_run(box_supervisor_uid, box_run_uid, 0) < 0)
        _exit(JT_SANDBOX_EXIT_IDENTITY); /* never go on as the run uid */
    return rc;
}

int jt_sandbox_enter_child(const jt_sandbox_limits_t *lim, pid_t expected_parent,
                           unsigned *features, char *err, size_t errlen)
{
    /* Namespaces need CAP_SYS_ADMIN: only as root, each best effort. Without
     * the network one the seccomp filter still refuses socket creation; the
     * IPC one makes SysV shared memory, semaphores, message queues and POSIX
     * queues private to this child, gone with it; the UTS one keeps a
     * sethostname to the box. */
    unsigned got = getpid() == 1 ? JT_BOX_PID_NS : 0;
    if (geteuid() == 0) {
        got |= unshare(CLONE_NEWNET) == 0 ? JT_BOX_NET_NS : 0;
        private_ipc = unshare(CLONE_NEWIPC) == 0;
        if (private_ipc && limit_ipc() < 0)
            return fail(err, errlen, "limiting System V IPC in the box");
        got |= private_ipc ? JT_BOX_IPC_NS : 0;
        got |= unshare(CLONE_NEWUTS) == 0 ? JT_BOX_UTS_NS : 0;
    }

    if (lim->workdir != NULL) {
        if (chdir(lim->workdir) < 0)
            return fail(err, errlen, "chdir to the working directory");
        got |= private_mounts(lim); /* re-enters the working directory on its own tmpfs */
        /* by its absolute path: a run may take the search right off the cwd */
        snprintf(scrub_workdir, sizeof scrub_workdir, "%s",
                 (got & JT_BOX_ROOT) ? JT_SANDBOX_ROOT_WORKDIR : lim->workdir);
    }

    if (set_limit(RLIMIT_FSIZE, JT_SANDBOX_FILE_SIZE_BYTES, JT_SANDBOX_FILE_SIZE_BYTES) < 0 ||
        set_limit(RLIMIT_NOFILE, JT_SANDBOX_OPEN_FILES, JT_SANDBOX_OPEN_FILES) < 0 ||
        set_limit(RLIMIT_CORE, 0, 0) < 0 || set_limit(RLIMIT_MEMLOCK, 0, 0) < 0 ||
        set_limit(RLIMIT_MSGQUEUE, 0, 0) < 0)
        return fail(err, errlen, "setrlimit");
    /* RLIMIT_NPROC counts every process of the user: only meaningful (and
     * only safe to set) for the box's own uids. */
    if (lim->drop_privileges) {
        if (set_limit(RLIMIT_NPROC, JT_SANDBOX_USER_PROCESSES, JT_SANDBOX_USER_PROCESSES) < 0)
            return fail(err, errlen, "setrlimit(RLIMIT_NPROC)");
        /* Runs apart from their supervisor need CAP_KILL in it: only where the
         * pid namespace leaves it nothing but the box to reach. */
        box_uids = (got & JT_BOX_PID_NS) != 0;
        if ((box_uids ? jt_identity_become_supervisor(lim->supervisor_uid, err, errlen)
                      : jt_identity_become_plain(lim->supervisor_uid, err, errlen)) < 0)
            return -1;
        box_supervisor_uid = lim->supervisor_uid;
        box_run_uid = lim->run_uid;
        got |= JT_BOX_SLOT_UID | (box_uids ? JT_BOX_RUN_UID : 0);
    }
    if (lim->user_namespace) {
        if (jt_identity_drop_all(err, errlen) < 0)
            return -1;
        got |= JT_BOX_USER_NS;
    }
    if (arm_parent_death(expected_parent, err, errlen) < 0)
        return -1;
    if (prctl(PR_SET_DUMPABLE, 0) < 0)
        return fail(err, errlen, "prctl(PR_SET_DUMPABLE)");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return fail(err, errlen, "prctl(PR_SET_NO_NEW_PRIVS)");
    if (jt_filter_load_base(err, errlen) < 0)
        return -1;
    if (box_uids && jt_identity_load_filter(lim->supervisor_uid, lim->run_uid, err, errlen) < 0)
        return -1;
    *features = got;
    return 0;
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
    if (box_uids && jt_identity_become_run(box_run_uid, err, errlen) < 0)
        return -1;
    /* A uid change resets dumpability to the host's suid_dumpable: set it. */
    if (prctl(PR_SET_DUMPABLE, 0) < 0)
        return fail(err, errlen, "prctl(PR_SET_DUMPABLE)");
    if (arm_parent_death(expected_parent, err, errlen) < 0)
        return -1;
    /* A file over RLIMIT_FSIZE must fail with EFBIG, not kill the run. */
    signal(SIGXFSZ, SIG_IGN);

    return jt_filter_load_run(err, errlen);
}
