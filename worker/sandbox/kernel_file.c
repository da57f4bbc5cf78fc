/* kernel_file.c -- one write(2) of a setting into a kernel file. */
#include "kernel_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int jt_kernel_file_write(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t len = strlen(text);
    ssize_t n = write(fd, text, len);
    int saved = errno;
    close(fd);
    if (n >= 0 && (size_t)n != len)
        saved = EIO;
    errno = saved;
    return n == (ssize_t)len ? 0 : -1;
}
