/* hostile_host.c -- what the host holds after hostile jobs: markers, processes, IPC, mounts. */
#include "hostile_host.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#define MARKER "jt-hostile-"
#define SANDBOX_ENV "JOULETRACE_SANDBOX_DIR="
#define ENVIRON_MAX (256u << 10)
#define FILES_DEPTH_MAX 64
#define REMOVE_DEPTH_MAX 900 /* directory levels hostile_remove_tree descends */

static const char *const HOST_TMP_DIRS[] = {"/tmp", "/var/tmp", "/dev/shm", "/run/lock"};

/* Append to desc[0..cap) (always NUL-terminated, truncated when full). */
static void describe(char *desc, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void describe(char *desc, size_t cap, const char *fmt, ...)
{
    size_t used = strnlen(desc, cap);
    if (cap == 0 || used + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(desc + used, cap - used, fmt, ap);
    va_end(ap);
}

/* Empty the directory open at dirfd (consumed), depth levels below the top. */
static int empty_dir_at(int dirfd, int depth)
{
    if (depth > REMOVE_DEPTH_MAX) {
        close(dirfd);
        return -1;
    }
    DIR *d = fdopendir(dirfd);
    if (!d) {
        close(dirfd);
        return -1;
    }
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (unlinkat(dirfd, de->d_name, 0) == 0 || errno == ENOENT)
            continue;
        int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0) {
            fchmodat(dirfd, de->d_name, 0700, 0); /* a locked directory of the candidate */
            sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (sub < 0 || empty_dir_at(sub, depth + 1) < 0 ||
            unlinkat(dirfd, de->d_name, AT_REMOVEDIR) < 0)
            rc = -1;
    }
    closedir(d);
    return rc;
}

int hostile_remove_tree(const char *path)
{
    if (unlink(path) == 0 || errno == ENOENT)
        return 0;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (empty_dir_at(fd, 0) < 0)
        return -1;
    return rmdir(path) == 0 || errno == ENOENT ? 0 : -1;
}

size_t hostile_host_markers(int remove, char *desc, size_t cap)
{
    size_t n = 0;
    if (cap > 0)
        desc[0] = '\0';
    for (size_t i = 0; i < sizeof HOST_TMP_DIRS / sizeof HOST_TMP_DIRS[0]; i++) {
        DIR *d = opendir(HOST_TMP_DIRS[i]);
        if (!d)
            continue;
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (strncmp(de->d_name, MARKER, strlen(MARKER)) != 0)
                continue;
            n++;
            describe(desc, cap, " %s/%.40s", HOST_TMP_DIRS[i], de->d_name);
            char path[PATH_MAX];
            snprintf(path, sizeof path, "%s/%s", HOST_TMP_DIRS[i], de->d_name);
            if (remove)
                hostile_remove_tree(path);
        }
        closedir(d);
    }
    return n;
}

/* Whether the NUL-separated environment env[0..len) has an entry starting with want. */
static int env_has_prefix(const char *env, size_t len, const char *want)
{
    size_t wl = strlen(want);
    for (size_t i = 0; i < len;) {
        size_t el = strnlen(env + i, len - i);
        if (el >= wl && memcmp(env + i, want, wl) == 0)
            return 1;
        i += el + 1;
    }
    return 0;
}

size_t hostile_prefix_procs(const char *prefix, pid_t *pids, size_t max, char *desc, size_t cap)
{
    static char env[ENVIRON_MAX];
    char want[PATH_MAX + 32];
    snprintf(want, sizeof want, SANDBOX_ENV "%s", prefix);
    if (cap > 0)
        desc[0] = '\0';
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < max) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        if (*end != '\0' || pid <= 0 || pid == (long)getpid())
            continue;
        char path[64];
        snprintf(path, sizeof path, "/proc/%ld/environ", pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t len = read(fd, env, sizeof env);
        close(fd);
        if (len <= 0 || !env_has_prefix(env, (size_t)len, want))
            continue;
        char comm[64] = "?";
        snprintf(path, sizeof path, "/proc/%ld/comm", pid);
        FILE *f = fopen(path, "r");
        if (f) {
            if (fgets(comm, sizeof comm, f))
                comm[strcspn(comm, "\n")] = '\0';
            fclose(f);
        }
        pids[n++] = (pid_t)pid;
        describe(desc, cap, " pid %ld (%s);", pid, comm);
    }
    closedir(d);
    return n;
}

/* Column of name in the header line of a /proc/sysvipc file, -1 if absent. */
static int column_of(const char *header, const char *name)
{
    char copy[512];
    snprintf(copy, sizeof copy, "%s", header);
    int col = 0;
    for (char *save, *t = strtok_r(copy, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save)) {
        if (strcmp(t, name) == 0)
            return col;
        col++;
    }
    return -1;
}

/* Field col of line as a number (-1 when missing). */
static long field_of(const char *line, int col)
{
    char copy[512];
    snprintf(copy, sizeof copy, "%s", line);
    int i = 0;
    for (char *save, *t = strtok_r(copy, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save))
        if (i++ == col)
            return strtol(t, NULL, 10);
    return -1;
}

size_t hostile_sysv_objects(uid_t uid, char *desc, size_t cap)
{
    static const char *const kinds[] = {"shm", "sem", "msg"};
    size_t n = 0;
    if (cap > 0)
        desc[0] = '\0';
    for (size_t k = 0; k < 3; k++) {
        char path[64], line[512], header[512];
        snprintf(path, sizeof path, "/proc/sysvipc/%s", kinds[k]);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (!fgets(header, sizeof header, f)) {
            fclose(f);
            continue;
        }
        int uid_col = column_of(header, "uid"), cuid_col = column_of(header, "cuid");
        while (fgets(line, sizeof line, f)) {
            if (field_of(line, uid_col) != (long)uid && field_of(line, cuid_col) != (long)uid)
                continue;
            n++;
            describe(desc, cap, " %s:%.60s;", kinds[k], line);
        }
        fclose(f);
    }
    return n;
}

size_t hostile_sysv_key(long key, char *desc, size_t cap)
{
    size_t n = 0;
    if (cap > 0)
        desc[0] = '\0';
    int id;
    if ((id = shmget((key_t)key, 0, 0)) >= 0 && shmctl(id, IPC_RMID, NULL) == 0) {
        n++;
        describe(desc, cap, " shm %d;", id);
    }
    if ((id = semget((key_t)key, 0, 0)) >= 0 && semctl(id, 0, IPC_RMID) == 0) {
        n++;
        describe(desc, cap, " sem %d;", id);
    }
    if ((id = msgget((key_t)key, 0)) >= 0 && msgctl(id, IPC_RMID, NULL) == 0) {
        n++;
        describe(desc, cap, " msg %d;", id);
    }
    return n;
}

size_t hostile_mounts_under(const char *dir, char *desc, size_t cap)
{
    size_t n = 0, dl = strlen(dir);
    if (cap > 0)
        desc[0] = '\0';
    FILE *f = fopen("/proc/self/mountinfo", "r");
    if (!f)
        return 0;
    char line[4096], point[PATH_MAX];
    while (fgets(line, sizeof line, f)) {
        /* id parent major:minor root mount-point ... */
        if (sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1)
            continue;
        if (strncmp(point, dir, dl) == 0 && (point[dl] == '\0' || point[dl] == '/')) {
            n++;
            describe(desc, cap, " %s", point);
        }
    }
    fclose(f);
    return n;
}

/* hostile_files_under below the directory open at dirfd (consumed); name is for messages. */
static size_t files_at(int dirfd, const char *name, int depth, char *desc, size_t cap)
{
    DIR *d = fdopendir(dirfd);
    if (!d) {
        close(dirfd);
        return 0;
    }
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        struct stat st;
        if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (!S_ISDIR(st.st_mode) || depth >= FILES_DEPTH_MAX) {
            n++;
            describe(desc, cap, " %.80s/%.40s", name, de->d_name);
            continue;
        }
        int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub >= 0)
            n += files_at(sub, de->d_name, depth + 1, desc, cap);
    }
    closedir(d);
    return n;
}

size_t hostile_files_under(const char *dir, char *desc, size_t cap)
{
    if (cap > 0)
        desc[0] = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    return fd < 0 ? 0 : files_at(fd, dir, 0, desc, cap);
}
