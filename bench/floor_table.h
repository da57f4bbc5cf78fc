/* floor_table.h -- the table of the Python benches: each figure beside its floor and target. */
#ifndef JT_FLOOR_TABLE_H
#define JT_FLOOR_TABLE_H

/* Print the column names. */
void jt_floor_table_header(void);

/* Print one row: the figure's sample count, median and p99 (NAN: "-"), the
 * floor it is compared with (<= 0: none, "-"), their ratio, the target ratio
 * (<= 0: none) and the verdict PASS, FAIL or "-". Returns 1 when the ratio
 * exceeds the target, else 0. */
int jt_floor_table_row(const char *figure, int n, double median_ms, double p99_ms,
                       double floor_ms, double target);

/* The 1-minute load average now (-1 when unknown): taken before the figures. */
double jt_floor_table_load(void);

/* Print the load averages before (load_before) and now, with the online cores:
 * on a loaded machine every process lifetime waits longer, the floor's as
 * much as the figure's, so ratios shrink toward 1. */
void jt_floor_table_print_load(double load_before);

#endif
