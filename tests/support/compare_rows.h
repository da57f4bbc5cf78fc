/* compare_rows.h -- the table runner of the jt_values_equal tests: rows of two values in text.
 *
 * A row names two values in the notation of msgpack_text.h and whether jt_values_equal must
 * find them equal, with the default tolerances or its own.
 */
#ifndef JT_TESTS_COMPARE_ROWS_H
#define JT_TESTS_COMPARE_ROWS_H

#include <stdbool.h>
#include <stddef.h>

/* One row: a name for messages, two values in text, whether they must be equal. */
typedef struct {
    const char *name;
    const char *actual;
    const char *expected;
    bool equal;
    bool custom_tol; /* use abs_tol/rel_tol below instead of the defaults */
    double abs_tol;
    double rel_tol;
} row_t;

/* The rows: equal or not, with the default tolerances or abs_tol at and rel_tol rt. */
#define EQ(name, a, b)                                                                             \
    {                                                                                              \
        name, a, b, true, false, 0, 0                                                              \
    }
#define NE(name, a, b)                                                                             \
    {                                                                                              \
        name, a, b, false, false, 0, 0                                                             \
    }
#define EQ_TOL(name, a, b, at, rt)                                                                 \
    {                                                                                              \
        name, a, b, true, true, at, rt                                                             \
    }
#define NE_TOL(name, a, b, at, rt)                                                                 \
    {                                                                                              \
        name, a, b, false, true, at, rt                                                            \
    }

/* Check every row in both directions (every rule is symmetric); report each
 * failing row by name, then fail once if any did. */
void run_rows(const row_t *rows, size_t n);

#define RUN_ROWS(rows) run_rows(rows, sizeof(rows) / sizeof(rows[0]))

#endif
