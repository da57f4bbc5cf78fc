/* cli_progress.c -- the jouletrace client's progress display: a bar redrawn in place on a terminal,
 * plain lines elsewhere. */
#include "cli_progress.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

/* Append printf output to line at *off, never past cap. */
static void add(char *line, size_t cap, size_t *off, const char *fmt, ...)
{
    if (*off >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line + *off, cap - *off, fmt, ap);
    va_end(ap);
    if (n > 0)
        *off = *off + (size_t)n < cap ? *off + (size_t)n : cap - 1;
}

/* The string member key of o, or NULL. */
static const char *word(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* An integer member of o, or -1. */
static long long count(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

void jt_cli_progress_init(jt_cli_progress_t *p, FILE *out, bool tty)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->tty = tty;
}

int jt_cli_progress_line(const json_t *rec, char *line, size_t cap)
{
    size_t off = 0;
    int percent = -1;
    line[0] = '\0';
    const char *status = word(rec, "status");
    add(line, cap, &off, "%.40s", status ? status : "unknown");
    if (json_is_string(json_object_get(rec, "batch_id"))) {
        const json_t *counts = json_object_get(rec, "counts");
        long long n = count(rec, "n_candidates"), ok = count(counts, "correct"),
                  failed = count(counts, "failed");
        if (n > 0 && ok >= 0 && failed >= 0) {
            add(line, cap, &off, " validated %lld/%lld (correct %lld, failed %lld)", ok + failed, n,
                ok, failed);
            percent = (int)((ok + failed) * 100 / n);
        }
        long long blocks = count(rec, "blocks"), trials = count(rec, "trials");
        if (blocks > 0)
            add(line, cap, &off, " blocks %lld", blocks);
        if (trials > 0)
            add(line, cap, &off, " trials %lld", trials);
        if (status && strcmp(status, "measuring") == 0)
            percent = -1; /* a batch measures until its intervals are narrow: no fraction */
    } else if (status && (strcmp(status, "failed") == 0 || strcmp(status, "cancelled") == 0)) {
        const char *why = word(rec, "error_type");
        if (why && strcmp(why, status) != 0)
            add(line, cap, &off, " %.64s", why);
    } else {
        const char *stage = word(rec, "stage");
        if (stage && (!status || strcmp(stage, status) != 0))
            add(line, cap, &off, " %.40s", stage);
        long long trial = count(rec, "trial"), total = count(rec, "trials_total");
        if (trial >= 0 && total > 0)
            add(line, cap, &off, " trial %lld/%lld", trial, total);
        const json_t *cv = json_object_get(rec, "cv_percent");
        if (json_is_number(cv) && isfinite(json_number_value(cv)))
            add(line, cap, &off, " CV %.1f%%", json_number_value(cv));
        const json_t *progress = json_object_get(rec, "progress");
        if (json_is_number(progress)) {
            double f = json_number_value(progress);
            if (isfinite(f) && f >= 0 && f <= 1)
                percent = (int)lround(f * 100);
        }
    }
    if (status && strcmp(status, "completed") == 0)
        percent = 100;
    if (percent >= 0)
        add(line, cap, &off, " %d%%", percent);
    return percent;
}

/* Draw the bar and line in place. */
static void draw(jt_cli_progress_t *p, int percent, const char *line)
{
    char bar[JT_CLI_BAR_WIDTH + 1];
    int filled = percent < 0 ? 0 : percent * JT_CLI_BAR_WIDTH / 100;
    for (int i = 0; i < JT_CLI_BAR_WIDTH; i++)
        bar[i] = i < filled ? '#' : (percent < 0 ? '?' : '-');
    bar[JT_CLI_BAR_WIDTH] = '\0';
    fprintf(p->out, "\r\033[K[%s] %s", bar, line);
    fflush(p->out);
    p->drawn = true;
}

void jt_cli_progress_show(jt_cli_progress_t *p, const json_t *rec)
{
    char line[JT_CLI_PROGRESS_LINE_MAX];
    int percent = jt_cli_progress_line(rec, line, sizeof line);
    if (p->tty) {
        draw(p, percent, line);
    } else if (strcmp(line, p->last) != 0) {
        fprintf(p->out, "%s\n", line);
        fflush(p->out);
    }
    memcpy(p->last, line, sizeof line);
}

void jt_cli_progress_end(jt_cli_progress_t *p, const json_t *rec)
{
    char line[JT_CLI_PROGRESS_LINE_MAX];
    int percent = jt_cli_progress_line(rec, line, sizeof line);
    if (p->tty) {
        draw(p, percent, line);
        fputc('\n', p->out);
    } else {
        fprintf(p->out, "%s\n", line);
    }
    fflush(p->out);
    p->drawn = false;
    memcpy(p->last, line, sizeof line);
}
