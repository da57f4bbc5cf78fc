/* cli_input.c -- the jouletrace client's input files: JSON bodies, Python sources, the token file.
 */
#include "cli_input.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/* Read fd to its end, at most max bytes (one more is an error), NUL-terminated. */
static char *read_fd(int fd, size_t max, size_t *len, int *too_long)
{
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap);
    *too_long = 0;
    if (!buf)
        return NULL;
    for (;;) {
        if (n + 1 >= cap) {
            if (cap > max + 1) {
                *too_long = 1;
                free(buf);
                return NULL;
            }
            char *b = realloc(buf, cap * 2);
            if (!b) {
                free(buf);
                return NULL;
            }
            buf = b;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            free(buf);
            return NULL;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > max) {
            *too_long = 1;
            free(buf);
            return NULL;
        }
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

char *jt_cli_read_file(const char *path, size_t *len)
{
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "jouletrace: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    int too_long = 0;
    errno = 0;
    char *text = read_fd(fd, JT_CLI_INPUT_MAX, len, &too_long);
    int saved = errno;
    if (fd != STDIN_FILENO)
        close(fd);
    if (!text && too_long)
        fprintf(stderr, "jouletrace: %s: longer than %u bytes\n", path, JT_CLI_INPUT_MAX);
    else if (!text)
        fprintf(stderr, "jouletrace: %s: %s\n", path, saved ? strerror(saved) : "out of memory");
    return text;
}

json_t *jt_cli_read_json(const char *path)
{
    size_t len;
    char *text = jt_cli_read_file(path, &len);
    if (!text)
        return NULL;
    json_error_t e;
    json_t *doc = json_loadb(text, len, JSON_DECODE_ANY, &e);
    free(text);
    if (!doc)
        fprintf(stderr, "jouletrace: %s:%d:%d: not JSON: %s\n", path, e.line, e.column, e.text);
    return doc;
}

int jt_cli_token_ok(const char *t)
{
    size_t n = strlen(t);
    if (n < JT_CLI_TOKEN_MIN || n > JT_CLI_TOKEN_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (t[i] <= ' ' || t[i] > '~')
            return 0;
    return 1;
}

int jt_cli_read_token_file(const char *path, char *token, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        fprintf(stderr, "jouletrace: token file %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "jouletrace: token file %s: not a regular file\n", path);
        close(fd);
        return -1;
    }
    if (st.st_mode & 077) {
        fprintf(stderr, "jouletrace: token file %s: group or others may access it (chmod 600)\n",
                path);
        close(fd);
        return -1;
    }
    size_t len;
    int too_long = 0;
    char *text = read_fd(fd, JT_CLI_TOKEN_FILE_MAX, &len, &too_long);
    close(fd);
    if (!text) {
        fprintf(stderr, "jouletrace: token file %s: %s\n", path,
                too_long ? "longer than 4096 bytes" : "unreadable");
        return -1;
    }
    int rc = -1;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        while (*line == ' ' || *line == '\t' || *line == '\r')
            line++;
        size_t n = strlen(line);
        while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0 || line[0] == '#')
            continue;
        if (jt_cli_token_ok(line) && n < cap) {
            memcpy(token, line, n + 1);
            rc = 0;
        }
        break;
    }
    if (rc != 0)
        fprintf(stderr,
                "jouletrace: token file %s: no token in it (16..256 visible ASCII characters)\n",
                path);
    memset(text, 0, len);
    free(text);
    return rc;
}
