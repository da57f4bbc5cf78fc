/* log.c -- JSON-lines logger on stderr (see log.h). */
#include "log.h"

#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char log_component[64] = "jouletrace";
static jt_log_level_t log_min_level = JT_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void jt_log_setup(const char *component, jt_log_level_t min_level)
{
    snprintf(log_component, sizeof log_component, "%s", component);
    log_min_level = min_level;
}

int jt_log_level_parse(const char *text)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(text, level_names[i]) == 0)
            return i;
    return -1;
}

/* s[0..len) was cut at a byte count: drop a multi-byte character left
 * incomplete at its end, so that a valid UTF-8 message stays valid. */
static void cut_partial_utf8(char *s, size_t len)
{
    size_t i = len;
    while (i > 0 && len - i < 3 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0)
        return;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (len - (i - 1) < need)
        s[i - 1] = '\0';
}

/* The JSON text of one line, without its newline (malloc'd), or NULL. */
static char *render_line(const char *when, jt_log_level_t level, const char *task_id,
                         const char *message)
{
    json_t *line = json_pack("{s:s, s:s, s:s, s:s}", "time", when, "level", level_names[level],
                             "component", log_component, "message", message);
    if (line == NULL) /* message was not valid UTF-8 (or no memory): keep what we can */
        line = json_pack("{s:s, s:s, s:s, s:s}", "time", when, "level", level_names[level],
                         "component", log_component, "message", "(message not valid UTF-8)");
    if (line == NULL)
        return NULL;
    if (task_id != NULL)
        json_object_set_new(line, "task_id", json_string(task_id));
    char *text = json_dumps(line, JSON_COMPACT);
    json_decref(line);
    return text;
}

void jt_log(jt_log_level_t level, const char *task_id, const char *fmt, ...)
{
    if (level < log_min_level || level > JT_LOG_ERROR)
        return;
    char message[4096];
    va_list ap;
    va_start(ap, fmt);
    int full = vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    if (full >= (int)sizeof message)
        cut_partial_utf8(message, sizeof message - 1);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[40];
    size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof when - n, ".%06ldZ", ts.tv_nsec / 1000);

    /* A write of more than PIPE_BUF bytes to a pipe may interleave with
     * other writers' lines: shorten the message until the line fits. */
    char *text;
    size_t len;
    for (;;) {
        text = render_line(when, level, task_id, message);
        if (text == NULL)
            return;
        len = strlen(text);
        size_t msg_len = strlen(message);
        if (len < PIPE_BUF || msg_len == 0)
            break;
        free(text);
        size_t over = len + 1 - PIPE_BUF;
        size_t keep = over < msg_len ? msg_len - over : 0;
        message[keep] = '\0';
        cut_partial_utf8(message, keep);
    }
    text[len] = '\n'; /* replace NUL: one write of the whole line */
    ssize_t w = write(STDERR_FILENO, text, len + 1);
    (void)w;
    free(text);
}
