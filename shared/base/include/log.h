/* log.h -- structured logging: one JSON object per line on stderr. */
#ifndef JT_LOG_H
#define JT_LOG_H

typedef enum { JT_LOG_DEBUG = 0, JT_LOG_INFO, JT_LOG_WARN, JT_LOG_ERROR } jt_log_level_t;

/* Set the component name written with every line (e.g. "worker") and the
 * minimum level. Call once at program start, before threads exist. */
void jt_log_setup(const char *component, jt_log_level_t min_level);

/* Parse "debug", "info", "warn", "error"; returns -1 for anything else. */
int jt_log_level_parse(const char *text);

/* Write {"time":"...Z","level":"info","component":"...","message":"...",
 * "task_id":"..."} (task_id omitted when NULL) as one line with a single
 * write(2), so lines of concurrent threads/processes never interleave.
 * Lines are capped at 4 KiB in total (PIPE_BUF, so one write is atomic);
 * longer messages are cut at a UTF-8 character boundary. Thread-safe; async-signal-unsafe. */
void jt_log(jt_log_level_t level, const char *task_id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define jt_log_debug(...) jt_log(JT_LOG_DEBUG, NULL, __VA_ARGS__)
#define jt_log_info(...) jt_log(JT_LOG_INFO, NULL, __VA_ARGS__)
#define jt_log_warn(...) jt_log(JT_LOG_WARN, NULL, __VA_ARGS__)
#define jt_log_error(...) jt_log(JT_LOG_ERROR, NULL, __VA_ARGS__)

#endif
