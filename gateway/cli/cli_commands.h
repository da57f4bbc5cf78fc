/* cli_commands.h -- the jouletrace client's commands: submit, watch, result, cancel, validate,
 * batch, compare. */
#ifndef JT_CLI_COMMANDS_H
#define JT_CLI_COMMANDS_H

#include <stdbool.h>

#include "cli.h"
#include "cli_follow.h"

/* How a command prints and waits. */
typedef struct {
    bool wait;          /* follow what was submitted to its end */
    bool json;          /* print the API's JSON as it is, not a summary */
    jt_cli_kind_t kind; /* what an id names (--task, --batch; AUTO by default) */
} jt_cli_flags_t;

/* Every command returns its exit code (cli.h) and prints why on stderr when it is not 0. */

/* POST the job in file to /api/v1/measure; print the task id, or with wait the summary. */
int jt_cli_submit(const jt_cli_t *cli, const char *file, const jt_cli_flags_t *fl);

/* POST the batch in file to /api/v1/batches; print the batch id, or with wait the ranking. */
int jt_cli_batch(const jt_cli_t *cli, const char *file, const jt_cli_flags_t *fl);

/* POST /api/v1/compare: the code of file_a as a, of file_b as b, the test cases of tests_file
 * (a JSON list, sent as it is), function (the function's name) and, when max_seconds > 0, the
 * budget max_measurement_seconds. Prints the batch id, or with wait the ranking and the
 * comparison. */
int jt_cli_compare(const jt_cli_t *cli, const char *file_a, const char *file_b,
                   const char *tests_file, const char *function, double max_seconds,
                   const jt_cli_flags_t *fl);

/* POST the job in file to /api/v1/validate; print the validation. 0 correct, 1 incorrect. */
int jt_cli_validate(const jt_cli_t *cli, const char *file, const jt_cli_flags_t *fl);

/* Follow id's events to the end, showing progress on stdout (a bar on a terminal, lines
 * otherwise). 0 completed, 1 failed or cancelled. */
int jt_cli_watch(const jt_cli_t *cli, const char *id, const jt_cli_flags_t *fl);

/* Print id's record: a summary, or with json the record as it is. 1 when it failed or was
 * cancelled, 0 otherwise (completed or not ended yet). */
int jt_cli_result(const jt_cli_t *cli, const char *id, const jt_cli_flags_t *fl);

/* DELETE id; print "<id> <status>" from the answer. */
int jt_cli_cancel(const jt_cli_t *cli, const char *id, const jt_cli_flags_t *fl);

#endif
