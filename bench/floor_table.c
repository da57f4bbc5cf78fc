/* floor_table.c -- the table the Python benches print (floor_table.h). */
#include "floor_table.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define ROW_FMT "%-44s %5s %9s %8s %8s %7s %7s %s\n"

void jt_floor_table_header(void)
{
    printf(ROW_FMT, "figure", "n", "median_ms", "p99_ms", "floor_ms", "ratio", "target",
           "verdict");
}

/* v formatted with fmt into buf, or "-" when v is NAN or not positive. */
static const char *cell(char *buf, size_t len, const char *fmt, double v)
{
    if (isnan(v) || v <= 0)
        return "-";
    snprintf(buf, len, fmt, v);
    return buf;
}

int jt_floor_table_row(const char *figure, int n, double median_ms, double p99_ms,
                       double floor_ms, double target)
{
    char nb[16], med[32], p99[32], fl[32], ra[32], ta[32];
    double ratio = floor_ms > 0 ? median_ms / floor_ms : NAN;
    int missed = target > 0 && !isnan(ratio) && ratio > target;
    const char *verdict = target > 0 && !isnan(ratio) ? (missed ? "FAIL" : "PASS") : "-";
    snprintf(nb, sizeof nb, "%d", n);
    printf(ROW_FMT, figure, nb, cell(med, sizeof med, "%.3f", median_ms),
           cell(p99, sizeof p99, "%.3f", p99_ms), cell(fl, sizeof fl, "%.3f", floor_ms),
           cell(ra, sizeof ra, "%.2fx", ratio), cell(ta, sizeof ta, "<=%.1fx", target), verdict);
    return missed;
}

double jt_floor_table_load(void)
{
    double load;
    return getloadavg(&load, 1) == 1 ? load : -1.0;
}

void jt_floor_table_print_load(double load_before)
{
    printf("# load average (1 min): %.2f before, %.2f after, on %ld cores; under load every\n"
           "#   process lifetime waits longer, the floor's too, and the ratios shrink\n",
           load_before, jt_floor_table_load(), sysconf(_SC_NPROCESSORS_ONLN));
}
