/* cli_summary.h -- the jouletrace client's readable summaries of task, batch and validation
 * records. */
#ifndef JT_CLI_SUMMARY_H
#define JT_CLI_SUMMARY_H

#include <jansson.h>
#include <stdio.h>

#define JT_CLI_SUMMARY_TESTS_MAX 10 /* failed tests listed at most */

/* Print a task record: id, status (error when failed), validation with its failed tests,
 * energy_metrics with the interval of statistics and the meter, quality verdict and reasons,
 * statistics, proxies. Members missing or of another type are left out: any JSON is safe. */
void jt_cli_summary_task(FILE *out, const json_t *rec);

/* Print a batch record: id, status, counts, the ranking table (rank, rank interval, tier,
 * candidate, median J with its interval), the failed candidates and, for a comparison, its
 * ratio. Members missing or of another type are left out. */
void jt_cli_summary_batch(FILE *out, const json_t *rec);

/* Print the validation object v (of a task or of POST /api/v1/validate's answer). */
void jt_cli_summary_validation(FILE *out, const json_t *v);

/* The exit code for a record's final status: 0 completed, 1 failed, cancelled or other. */
int jt_cli_status_exit(const json_t *rec);

/* Whether the status of rec is final (completed, failed, cancelled). */
int jt_cli_status_final(const json_t *rec);

#endif
