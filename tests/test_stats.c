/* test_stats.c -- unit tests of trial statistics (shared/stats.c) against hand-computed values. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "unit_main.h"

#include "stats.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* cmocka 1.1.5 has no assert_double_equal. */
static void near(double got, double want, double eps, const char *what)
{
    if (!(fabs(got - want) <= eps))
        fail_msg("%s: got %.12g, want %.12g (+/- %g)", what, got, want, eps);
}

static void assert_no_nan(const jt_stats_t *s)
{
    const double v[] = {s->mean,     s->stddev,    s->cv_percent, s->median, s->mad,
                        s->ci95_low, s->ci95_high, s->min,        s->max};
    for (size_t i = 0; i < N_OF(v); i++)
        if (!isfinite(v[i]))
            fail_msg("field %zu is not finite: %g", i, v[i]);
}

static jt_stats_t compute(const double *x, size_t n)
{
    jt_stats_t s;
    memset(&s, 0x5a, sizeof s);
    assert_true(jt_stats_compute(x, n, &s));
    assert_int_equal(s.n, n);
    assert_no_nan(&s);
    return s;
}

static void median_odd(void **state)
{
    (void)state;
    /* {5, 1, 3} sorted is 1 3 5: the middle value is 3. */
    const double x[] = {5, 1, 3};
    near(jt_stats_median(x, 3), 3.0, 0, "median");
    /* The input is not reordered. */
    assert_true(x[0] == 5 && x[1] == 1 && x[2] == 3);
}

static void median_even(void **state)
{
    (void)state;
    /* {4, 1, 3, 2} sorted is 1 2 3 4: mean of the middle two = (2 + 3) / 2 = 2.5. */
    const double x[] = {4, 1, 3, 2};
    near(jt_stats_median(x, 4), 2.5, 0, "median");
    assert_true(x[0] == 4 && x[1] == 1 && x[2] == 3 && x[3] == 2);
    /* Two values: (1 + 3) / 2 = 2. */
    const double y[] = {3, 1};
    near(jt_stats_median(y, 2), 2.0, 0, "median of two");
}

static void median_large_uses_heap(void **state)
{
    (void)state;
    /* 5001 values (more than the 1024 on the stack): 5000, 4999, ..., 0.
     * Sorted 0..5000, the middle (index 2500) is 2500. With one more value
     * (5001 values 0..5000 plus 5001) the median is (2500 + 2501) / 2. */
    size_t n = 5002;
    double *x = malloc(n * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < 5001; i++)
        x[i] = (double)(5000 - i);
    near(jt_stats_median(x, 5001), 2500.0, 0, "median of 5001");
    x[5001] = 5001.0;
    near(jt_stats_median(x, n), 2500.5, 0, "median of 5002");
    jt_stats_t s = compute(x, n);
    /* Values 0..5001: mean = median = 5001 / 2 = 2500.5. |x - 2500.5| takes
     * each of 0.5, 1.5, ..., 2500.5 twice (5002 values); sorted, indices 2k
     * and 2k+1 hold k + 0.5, so the middle pair (2500, 2501) is 1250.5 twice:
     * MAD = 1250.5. */
    near(s.mean, 2500.5, 1e-9, "mean");
    near(s.mad, 1250.5, 0, "mad");
    near(s.min, 0, 0, "min");
    near(s.max, 5001, 0, "max");
    free(x);
}

static void mean_stddev_cv(void **state)
{
    (void)state;
    /* {2, 4, 4, 5, 10}: sum 25, mean 5. Deviations -3 -1 -1 0 5, squares
     * 9 1 1 0 25 = 36; sample variance 36 / (5 - 1) = 9, stddev 3.
     * CV = 100 * 3 / 5 = 60 %. min 2, max 10. */
    const double x[] = {2, 4, 4, 5, 10};
    jt_stats_t s = compute(x, N_OF(x));
    near(s.mean, 5.0, 1e-12, "mean");
    near(s.stddev, 3.0, 1e-12, "stddev");
    near(s.cv_percent, 60.0, 1e-10, "cv");
    near(s.min, 2.0, 0, "min");
    near(s.max, 10.0, 0, "max");
}

static void mad_values(void **state)
{
    (void)state;
    /* {2, 4, 4, 5, 10}: median 4; |x - 4| = 2 0 0 1 6, sorted 0 0 1 2 6,
     * median (MAD) = 1. */
    const double x[] = {2, 4, 4, 5, 10};
    jt_stats_t s = compute(x, N_OF(x));
    near(s.median, 4.0, 0, "median");
    near(s.mad, 1.0, 0, "mad");
    /* {1..10}: median (5 + 6) / 2 = 5.5; |x - 5.5| = 4.5 3.5 2.5 1.5 0.5 0.5
     * 1.5 2.5 3.5 4.5, sorted 0.5 0.5 1.5 1.5 2.5 2.5 3.5 3.5 4.5 4.5, median
     * (2.5 + 2.5) / 2 = 2.5. */
    const double y[] = {7, 1, 10, 4, 2, 9, 3, 8, 5, 6};
    s = compute(y, N_OF(y));
    near(s.median, 5.5, 0, "median");
    near(s.mad, 2.5, 0, "mad");
}

static void ci95_n2(void **state)
{
    (void)state;
    /* {1, 3}: mean 2, stddev sqrt((1 + 1) / 1) = sqrt 2. t(0.975, 1) =
     * 12.706204736; half width = 12.706204736 * sqrt 2 / sqrt 2 = 12.706204736.
     * CI = [2 - 12.706204736, 2 + 12.706204736] = [-10.706204736, 14.706204736]. */
    const double x[] = {1, 3};
    jt_stats_t s = compute(x, 2);
    near(s.stddev, sqrt(2.0), 1e-12, "stddev");
    near(s.ci95_low, -10.706204736, 1e-8, "ci low");
    near(s.ci95_high, 14.706204736, 1e-8, "ci high");
}

static void ci95_n5(void **state)
{
    (void)state;
    /* {2, 4, 4, 5, 10}: mean 5, stddev 3 (see mean_stddev_cv). t(0.975, 4) =
     * 2.776445105; half = 2.776445105 * 3 / sqrt 5 = 8.329335315 / 2.236067977
     * = 3.724991994. CI = [1.275008006, 8.724991994]. */
    const double x[] = {2, 4, 4, 5, 10};
    jt_stats_t s = compute(x, N_OF(x));
    near(s.ci95_low, 1.275008006, 1e-8, "ci low");
    near(s.ci95_high, 8.724991994, 1e-8, "ci high");
}

static void ci95_n10(void **state)
{
    (void)state;
    /* {1..10}: mean 55 / 10 = 5.5. Squared deviations 2 * (0.25 + 2.25 + 6.25
     * + 12.25 + 20.25) = 82.5; variance 82.5 / 9 = 9.1666..., stddev
     * 3.027650354; CV = 100 * 3.027650354 / 5.5 = 55.048188256 %.
     * t(0.975, 9) = 2.262157163; stddev / sqrt 10 = sqrt(82.5 / 90) =
     * 0.957427108; half = 2.262157163 * 0.957427108 = 2.165850590.
     * CI = [3.334149410, 7.665850590]. */
    const double x[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    jt_stats_t s = compute(x, N_OF(x));
    near(s.mean, 5.5, 1e-12, "mean");
    near(s.stddev, 3.027650354, 1e-8, "stddev");
    near(s.cv_percent, 55.048188256, 1e-7, "cv");
    near(s.ci95_low, 3.334149410, 1e-8, "ci low");
    near(s.ci95_high, 7.665850590, 1e-8, "ci high");
}

static void outlier_clear(void **state)
{
    (void)state;
    /* {2, 4, 4, 5, 10}: median 4, MAD 1. Modified z of 10 = 0.6745 * 6 / 1 =
     * 4.047 > 3.5: flagged. Of 2: 0.6745 * 2 = 1.349; of 5: 0.6745: not. */
    const double x[] = {2, 4, 4, 5, 10};
    bool flags[5];
    memset(flags, 1, sizeof flags);
    assert_int_equal(jt_stats_outliers(x, 5, 0.0, flags), 1);
    assert_false(flags[0]);
    assert_false(flags[1]);
    assert_false(flags[2]);
    assert_false(flags[3]);
    assert_true(flags[4]);
    /* flags may be NULL: only the count. */
    assert_int_equal(jt_stats_outliers(x, 5, 0.0, NULL), 1);
}

static void outlier_borderline(void **state)
{
    (void)state;
    /* {9, 10, 10, 11, v} with v > 11: median 10; |x - 10| = 1 0 0 1 v-10,
     * sorted 0 0 1 1 v-10, MAD 1. Threshold v - 10 = 3.5 / 0.6745 = 5.18903.
     * v = 15.18: z = 0.6745 * 5.18 = 3.49391 < 3.5, not flagged.
     * v = 15.2:  z = 0.6745 * 5.2  = 3.5074  > 3.5, flagged. */
    double x[] = {9, 10, 10, 11, 15.18};
    bool flags[5];
    assert_int_equal(jt_stats_outliers(x, 5, 0.0, flags), 0);
    for (size_t i = 0; i < 5; i++)
        assert_false(flags[i]);
    x[4] = 15.2;
    assert_int_equal(jt_stats_outliers(x, 5, 0.0, flags), 1);
    assert_true(flags[4]);
    /* Symmetric below: v = 10 - 5.18 = 4.82 with the order reversed around
     * the median ({4.82, 9, 10, 10, 11}: median 10, MAD 1): not flagged. */
    const double y[] = {4.82, 9, 10, 10, 11};
    assert_int_equal(jt_stats_outliers(y, 5, 0.0, NULL), 0);
}

static void outlier_mad_zero(void **state)
{
    (void)state;
    /* {5, 5, 5, 5, 100}: median 5, |x - 5| = 0 0 0 0 95, MAD 0 and no floor:
     * the score is undefined, so nothing is flagged (even the 100). */
    const double x[] = {5, 5, 5, 5, 100};
    bool flags[5];
    memset(flags, 1, sizeof flags);
    assert_int_equal(jt_stats_outliers(x, 5, 0.0, flags), 0);
    for (size_t i = 0; i < 5; i++)
        assert_false(flags[i]);
    jt_stats_t s = compute(x, 5);
    near(s.mad, 0.0, 0, "mad");
}

static void outlier_spread_floor(void **state)
{
    (void)state;
    /* {1.000, 1.001, 1.000, 1.002, 1.010}: median 1.001, |x - m| = .001 0 .001
     * .001 .009, MAD 0.001. Without a floor the 1.010 (0.9 % off) scores
     * 0.6745 * 0.009 / 0.001 = 6.07: flagged. With the floor 0.01 (1 % of
     * the gross) it scores 0.6745 * 0.009 / 0.01 = 0.607: not. */
    const double x[] = {1.000, 1.001, 1.000, 1.002, 1.010};
    bool flags[5];
    assert_int_equal(jt_stats_outliers(x, 5, 0.0, flags), 1);
    assert_true(flags[4]);
    assert_int_equal(jt_stats_outliers(x, 5, 0.01, flags), 0);
    assert_false(flags[4]);
    /* The floor makes MAD 0 decidable: {5, 5, 5, 5, 100} with floor 1:
     * 0.6745 * 95 / 1 = 64.1 flags the 100; 5.5 scores 0.337: not. */
    const double y[] = {5, 5, 5, 5, 100};
    assert_int_equal(jt_stats_outliers(y, 5, 1.0, flags), 1);
    assert_true(flags[4]);
    assert_false(flags[0]);
    const double z[] = {5, 5, 5, 5, 5.5};
    assert_int_equal(jt_stats_outliers(z, 5, 1.0, flags), 0);
    /* A floor below the MAD changes nothing: {2, 4, 4, 5, 10} (MAD 1),
     * floor 0.5: the 10 is still the only outlier. */
    const double w[] = {2, 4, 4, 5, 10};
    assert_int_equal(jt_stats_outliers(w, 5, 0.5, flags), 1);
    assert_true(flags[4]);
}

static void n_zero(void **state)
{
    (void)state;
    jt_stats_t s = compute(NULL, 0);
    assert_int_equal(s.n, 0);
    assert_true(s.mean == 0 && s.stddev == 0 && s.cv_percent == 0 && s.median == 0 && s.mad == 0 &&
                s.ci95_low == 0 && s.ci95_high == 0 && s.min == 0 && s.max == 0);
    assert_true(jt_stats_median(NULL, 0) == 0.0);
    assert_int_equal(jt_stats_outliers(NULL, 0, 0.0, NULL), 0);
}

static void n_one(void **state)
{
    (void)state;
    /* One value 7: mean = median = min = max = 7; stddev 0 (n < 2); CV 0;
     * MAD |7 - 7| = 0; CI collapses to the mean; nothing is an outlier. */
    const double x[] = {7};
    jt_stats_t s = compute(x, 1);
    near(s.mean, 7, 0, "mean");
    near(s.median, 7, 0, "median");
    near(s.stddev, 0, 0, "stddev");
    near(s.cv_percent, 0, 0, "cv");
    near(s.mad, 0, 0, "mad");
    near(s.ci95_low, 7, 0, "ci low");
    near(s.ci95_high, 7, 0, "ci high");
    near(s.min, 7, 0, "min");
    near(s.max, 7, 0, "max");
    bool flag = true;
    assert_int_equal(jt_stats_outliers(x, 1, 0.0, &flag), 0);
    assert_false(flag);
}

static void nan_free_degenerate(void **state)
{
    (void)state;
    /* All equal {3, 3, 3}: stddev 0, CV 0, MAD 0, CI [3, 3]. */
    const double x[] = {3, 3, 3};
    jt_stats_t s = compute(x, 3);
    near(s.stddev, 0, 0, "stddev");
    near(s.cv_percent, 0, 0, "cv");
    near(s.ci95_low, 3, 0, "ci low");
    near(s.ci95_high, 3, 0, "ci high");
    /* Mean 0 {-1, 1}: CV is defined as 0 rather than 100 * sqrt 2 / 0. */
    const double y[] = {-1, 1};
    s = compute(y, 2);
    near(s.mean, 0, 0, "mean");
    near(s.cv_percent, 0, 0, "cv");
    /* Negative mean {-2, -4, -6}: mean -4, stddev 2, CV = 100 * 2 / |-4| = 50. */
    const double z[] = {-2, -4, -6};
    s = compute(z, 3);
    near(s.cv_percent, 50, 1e-12, "cv of negative mean");
}

static void t975_table(void **state)
{
    (void)state;
    /* Published two-sided 95 % critical values. */
    near(jt_stats_t975(1), 12.706, 5e-4, "df 1");
    near(jt_stats_t975(2), 4.303, 5e-4, "df 2");
    near(jt_stats_t975(4), 2.776, 5e-4, "df 4");
    near(jt_stats_t975(9), 2.262, 5e-4, "df 9");
    near(jt_stats_t975(29), 2.045, 5e-4, "df 29");
    near(jt_stats_t975(30), 2.042, 5e-4, "df 30");
    /* Decreasing in df. */
    for (size_t df = 1; df < 2000; df++)
        if (!(jt_stats_t975(df + 1) < jt_stats_t975(df)))
            fail_msg("t975 not decreasing at df %zu", df);
    assert_true(isinf(jt_stats_t975(0)));
}

static void t975_large_df(void **state)
{
    (void)state;
    /* Beyond the table (Cornish-Fisher): exact values 2.039513446 (31),
     * 2.000297822 (60), 1.979930405 (120), 1.962339081 (1000), z = 1.959964. */
    near(jt_stats_t975(31), 2.039513446, 1e-6, "df 31");
    near(jt_stats_t975(60), 2.000, 5e-4, "df 60");
    near(jt_stats_t975(60), 2.000297822, 1e-6, "df 60 exact");
    near(jt_stats_t975(120), 1.980, 5e-4, "df 120");
    near(jt_stats_t975(120), 1.979930405, 1e-6, "df 120 exact");
    near(jt_stats_t975(1000), 1.962339081, 1e-6, "df 1000");
    near(jt_stats_t975((size_t)-1), 1.959964, 5e-6, "df -> infinity");
    /* Continuous across the table's end: 30 -> 31 drops by about 0.0028. */
    double step = jt_stats_t975(30) - jt_stats_t975(31);
    assert_true(step > 0.002 && step < 0.0035);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(median_odd),
    cmocka_unit_test(median_even),
    cmocka_unit_test(median_large_uses_heap),
    cmocka_unit_test(mean_stddev_cv),
    cmocka_unit_test(mad_values),
    cmocka_unit_test(ci95_n2),
    cmocka_unit_test(ci95_n5),
    cmocka_unit_test(ci95_n10),
    cmocka_unit_test(outlier_clear),
    cmocka_unit_test(outlier_borderline),
    cmocka_unit_test(outlier_mad_zero),
    cmocka_unit_test(outlier_spread_floor),
    cmocka_unit_test(n_zero),
    cmocka_unit_test(n_one),
    cmocka_unit_test(nan_free_degenerate),
    cmocka_unit_test(t975_table),
    cmocka_unit_test(t975_large_df),
};

JT_UNIT_MAIN(tests)
