/* compare.h -- the correctness gate's comparison of an actual output with the expected one. */
#ifndef JT_COMPARE_H
#define JT_COMPARE_H

#include <stdbool.h>
#include <msgpack.h>

typedef struct {
    double abs_tol; /* default JT_DEFAULT_ABS_TOL */
    double rel_tol; /* default JT_DEFAULT_REL_TOL */
} jt_tolerance_t;

/* Compare two msgpack values with the gate's rules:
 *   nil equals only nil; booleans equal only booleans (true != 1);
 *   numbers (positive/negative int, float32/64) compare numerically; when
 *   either is a float: equal if |a-b| <= abs_tol, else if
 *   |a-b| <= rel_tol * max(|a|,|b|); NaN equals NaN; infinities equal by sign;
 *   integers compare exactly (no precision loss for 64-bit values);
 *   strings byte-exactly; arrays by length then element-wise in order
 *   (a returned tuple arrives as an array); maps by key set, then values.
 * Any other type combination is unequal. Never fails; recursion is bounded by
 * the depth of the inputs, which callers bound to JT_MAX_DEPTH. */
bool jt_values_equal(const msgpack_object *actual, const msgpack_object *expected,
                     const jt_tolerance_t *tol);

#endif
