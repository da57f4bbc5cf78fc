/* sandbox_root.c -- build the box's minimal read-only root on a tmpfs and pivot_root into it. */
#include "sandbox_root.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "protocol.h"

#define ROOT_TMPFS_OPTS "size=1m,nr_inodes=256,mode=0755"
#define OLD_ROOT ".host"

/* The directories of the new root, made in this order. */
static const char *const skeleton[] = {"usr", "etc",     "dev", "dev/shm",  "proc",    "tmp",
                                       "var", "var/tmp", "run", "run/lock", "sandbox", OLD_ROOT};
/* Host entries recreated as links when they are links, else bound. */
static const char *const top_level[] = {"bin", "lib", "lib64", "sbin"};
static const char *const etc_files[] = {"etc/ld.so.cache", "etc/localtime"};
static const char *const dev_nodes[] = {"dev/null", "dev/zero", "dev/random", "dev/urandom"};

/* dir/rel into buf; false when it does not fit. */
static bool join(char *buf, size_t len, const char *dir, const char *rel)
{
    int n = snprintf(buf, len, "%s/%s", dir, rel);
    return n > 0 && (size_t)n < len;
}

/* Bind the host's /rel onto root/rel (a directory or an empty file made
 * here), nosuid; read-only and nodev unless it is a device node. */
static bool bind_read_only(const char *root, const char *rel, bool is_dir, bool devices)
{
    char host[PATH_MAX], target[PATH_MAX];
    if (!join(host, sizeof host, "", rel) || !join(target, sizeof target, root, rel))
        return false;
    if (is_dir) {
        if (mkdir(target, 0755) < 0 && errno != EEXIST)
            return false;
    } else {
        int fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            return false;
        close(fd);
    }
    /* a device node on a read-only mount still takes writes (/dev/null) */
    unsigned long flags = MS_NOSUID | (devices ? 0 : MS_NODEV | MS_RDONLY);
    return mount(host, target, NULL, MS_BIND | MS_REC, NULL) == 0 &&
           mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | flags, NULL) == 0;
}

/* A host entry as it is: a symlink is copied as a symlink (its target then
 * resolves inside the box), anything else is bound read-only. Missing ones
 * are skipped. */
static bool mirror(const char *root, const char *rel)
{
    char host[PATH_MAX], target[PATH_MAX], link[PATH_MAX];
    if (!join(host, sizeof host, "", rel) || !join(target, sizeof target, root, rel))
        return false;
    struct stat st;
    if (lstat(host, &st) < 0)
        return errno == ENOENT;
    if (S_ISLNK(st.st_mode)) {
        ssize_t n = readlink(host, link, sizeof link - 1);
        if (n <= 0)
            return false;
        link[n] = '\0';
        return symlink(link, target) == 0;
    }
    return bind_read_only(root, rel, S_ISDIR(st.st_mode), false);
}

int jt_sandbox_tmpfs(const char *path, long bytes, long inodes, uid_t owner)
{
    char opts[128];
    snprintf(opts, sizeof opts, "size=%ld,nr_inodes=%ld,mode=0700,uid=%u,gid=%u", bytes, inodes,
             (unsigned)owner, (unsigned)owner);
    return mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, opts);
}

static bool fresh_tmpfs(const char *root, const char *rel, long bytes, long inodes, uid_t owner)
{
    char target[PATH_MAX];
    return join(target, sizeof target, root, rel) &&
           jt_sandbox_tmpfs(target, bytes, inodes, owner) == 0;
}

/* Everything of the root below dir, before the pivot. */
static bool populate(const char *dir, uid_t owner, const char *python_home, long workdir_bytes,
                     long tmp_bytes, long inodes, bool *fresh_proc)
{
    char path[PATH_MAX];
    for (size_t i = 0; i < sizeof skeleton / sizeof skeleton[0]; i++)
        if (!join(path, sizeof path, dir, skeleton[i]) || mkdir(path, 0755) < 0)
            return false;
    if (!bind_read_only(dir, "usr", true, false))
        return false;
    /* An interpreter installed outside /usr brings its standard library along. */
    if (python_home != NULL && python_home[0] == '/' && strcmp(python_home, "/usr") != 0 &&
        strncmp(python_home, "/usr/", 5) != 0) {
        char rel[PATH_MAX];
        snprintf(rel, sizeof rel, "%s", python_home + 1);
        for (char *p = strchr(rel, '/'); p != NULL; p = strchr(p + 1, '/')) {
            *p = '\0';
            if (!join(path, sizeof path, dir, rel) || (mkdir(path, 0755) < 0 && errno != EEXIST))
                return false;
            *p = '/';
        }
        if (!bind_read_only(dir, rel, true, false))
            return false;
    }
    for (size_t i = 0; i < sizeof top_level / sizeof top_level[0]; i++)
        if (!mirror(dir, top_level[i]))
            return false;
    for (size_t i = 0; i < sizeof etc_files / sizeof etc_files[0]; i++)
        if (!mirror(dir, etc_files[i]))
            return false;
    for (size_t i = 0; i < sizeof dev_nodes / sizeof dev_nodes[0]; i++)
        if (!bind_read_only(dir, dev_nodes[i], false, true))
            return false;
    if (!fresh_tmpfs(dir, "sandbox", workdir_bytes, inodes, owner))
        return false;
    static const char *const scratch[] = {"tmp", "var/tmp", "dev/shm", "run/lock"};
    for (size_t i = 0; i < sizeof scratch / sizeof scratch[0]; i++)
        if (!fresh_tmpfs(dir, scratch[i], tmp_bytes, inodes, owner))
            return false;
    if (!join(path, sizeof path, dir, "proc"))
        return false;
    /* A fresh /proc of our pid namespace; where the host's is partly masked
     * (containers) the kernel refuses it, and the box gets the host's. */
    *fresh_proc =
        getpid() == 1 && mount("proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0;
    if (!*fresh_proc && mount("/proc", path, NULL, MS_BIND | MS_REC, NULL) < 0)
        return false;
    return true;
}

unsigned jt_sandbox_make_root(const char *dir, uid_t owner, const char *python_home,
                              long workdir_bytes, long tmp_bytes, long inodes)
{
    if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, ROOT_TMPFS_OPTS) < 0)
        return 0;
    bool fresh_proc = false;
    char old[PATH_MAX];
    if (!populate(dir, owner, python_home, workdir_bytes, tmp_bytes, inodes, &fresh_proc) ||
        !join(old, sizeof old, dir, OLD_ROOT) || chdir(dir) < 0 ||
        syscall(SYS_pivot_root, ".", OLD_ROOT) < 0) {
        int saved = errno;
        umount2(dir, MNT_DETACH); /* takes every mount made below it */
        errno = saved;
        return 0;
    }
    /* From here on the host's tree is only reachable through /.host: drop it. */
    if (umount2("/" OLD_ROOT, MNT_DETACH) < 0 || rmdir("/" OLD_ROOT) < 0 ||
        mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0 ||
        chdir(JT_SANDBOX_ROOT_WORKDIR) < 0)
        _exit(7); /* half-pivoted: this child cannot be used, the runner makes another */
    return JT_BOX_ROOT | JT_BOX_MOUNT_NS | (fresh_proc ? JT_BOX_PROC : 0);
}
