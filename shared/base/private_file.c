/* private_file.c -- secrets read from files that only their owner may access (chmod 600). */
#include "private_file.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Opens path for reading and checks what it is: a regular file of its owner only. */
static int open_private(const char *path, const char *setting, const char *what, jt_error_t *err)
{
    struct stat st;
    /* O_NONBLOCK: a FIFO planted at the path must not block the start. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        jt_error_set(err, JT_ERR_CONFIG, setting, "%s=%s: cannot open: %s", setting, path,
                     strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        jt_error_set(err, JT_ERR_CONFIG, setting, "%s=%s: not a regular file", setting, path);
        return -1;
    }
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        close(fd);
        jt_error_set(err, JT_ERR_CONFIG, setting,
                     "%s=%s is accessible to group or others (mode %04o): %s must be readable "
                     "by its owner only; chmod 600 it and start again",
                     setting, path, (unsigned)(st.st_mode & 07777), what);
        return -1;
    }
    return fd;
}

jt_status_t jt_private_file_read(const char *path, const char *setting, const char *what, void *buf,
                                 size_t cap, size_t *len, jt_error_t *err)
{
    char *out = buf;
    char extra;
    *len = 0;
    int fd = open_private(path, setting, what, err);
    if (fd < 0)
        return JT_ERR_CONFIG;
    for (;;) { /* the size may change under us: read until EOF, one byte past the bound */
        bool full = *len == cap;
        ssize_t r = read(fd, full ? &extra : out + *len, full ? 1 : cap - *len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 || (r > 0 && full)) {
            int e = errno;
            close(fd);
            explicit_bzero(buf, cap);
            *len = 0;
            if (r > 0)
                return jt_error_set(err, JT_ERR_CONFIG, setting, "%s=%s: larger than %zu bytes",
                                    setting, path, cap);
            return jt_error_set(err, JT_ERR_CONFIG, setting, "%s=%s: cannot read: %s", setting,
                                path, strerror(e));
        }
        if (r == 0)
            break;
        *len += (size_t)r;
    }
    close(fd);
    return JT_OK;
}
