/* cli_progress.h -- the jouletrace client's progress display: a bar redrawn in place on a terminal,
 * plain lines elsewhere. */
#ifndef JT_CLI_PROGRESS_H
#define JT_CLI_PROGRESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#define JT_CLI_PROGRESS_LINE_MAX 256
#define JT_CLI_BAR_WIDTH 24

typedef struct {
    FILE *out;
    bool tty;   /* redraw one line in place; otherwise one line per change */
    bool drawn; /* a bar is on screen without its newline */
    char last[JT_CLI_PROGRESS_LINE_MAX];
} jt_cli_progress_t;

/* Start a display on out; tty chooses the bar. */
void jt_cli_progress_init(jt_cli_progress_t *p, FILE *out, bool tty);

/* The line of a task record (status, stage, trial i/n, CV, percent) or of a batch record
 * (status, candidates validated, blocks, trials) into line (cap bytes); unknown or missing
 * fields are left out, so any JSON value is safe. Returns the percent done, -1 when unknown. */
int jt_cli_progress_line(const json_t *rec, char *line, size_t cap);

/* Show rec: redraw the bar, or print its line when it differs from the last one printed. */
void jt_cli_progress_show(jt_cli_progress_t *p, const json_t *rec);

/* Show the final record rec and end the display with a newline: the last line printed is the
 * final record's, starting with its status. */
void jt_cli_progress_end(jt_cli_progress_t *p, const json_t *rec);

#endif
