/* compare_rows.c -- the table runner of the jt_values_equal tests: rows of two values in text. */
#include "compare_rows.h"

#include "compare.h"
#include "job.h"
#include "msgpack_text.h"
#include "unit_main.h"

void run_rows(const row_t *rows, size_t n)
{
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        const row_t *r = &rows[i];
        jt_tolerance_t tol = {JT_DEFAULT_ABS_TOL, JT_DEFAULT_REL_TOL};
        if (r->custom_tol) {
            tol.abs_tol = r->abs_tol;
            tol.rel_tol = r->rel_tol;
        }
        value_t a, b;
        value_parse(&a, r->actual);
        value_parse(&b, r->expected);
        bool ab = jt_values_equal(&a.up.data, &b.up.data, &tol);
        bool ba = jt_values_equal(&b.up.data, &a.up.data, &tol);
        if (ab != r->equal || ba != r->equal) {
            print_error("row \"%s\": %.60s vs %.60s: expected %s, got %s/%s (actual,expected / "
                        "swapped)\n",
                        r->name, r->actual, r->expected, r->equal ? "equal" : "unequal",
                        ab ? "equal" : "unequal", ba ? "equal" : "unequal");
            failures++;
        }
        value_free(&a);
        value_free(&b);
    }
    assert_int_equal(failures, 0);
}
