/* log.c -- JSON-lines logger on stderr (see log.h). */
#include "log.h"

#include <jansson.h>
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

void jt_log(jt_log_level_t level, const char *task_id, const char *fmt, ...)
{
    if (level < log_min_level || level > JT_LOG_ERROR)
        return;
    char message[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[40];
    size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof when - n, ".%06ldZ", ts.tv_nsec / 1000);

    json_t *line = json_pack("{s:s, s:s, s:s, s:s}", "time", when, "level", level_names[level],
                             "component", log_component, "message", message);
    if (line == NULL) /* message was not valid UTF-8 (or no memory): keep what we can */
        line = json_pack("{s:s, s:s, s:s, s:s}", "time", when, "level", level_names[level],
                         "component", log_component, "message", "(message not valid UTF-8)");
    if (line == NULL)
        return;
    if (task_id != NULL)
        json_object_set_new(line, "task_id", json_string(task_id));
    char *text = json_dumps(line, JSON_COMPACT);
    json_decref(line);
    if (text == NULL)
        return;
    size_t len = strlen(text);
    text[len] = '\n'; /* replace NUL: one write of the whole line */
    ssize_t w = write(STDERR_FILENO, text, len + 1);
    (void)w;
    free(text);
}
