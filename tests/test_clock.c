/* test_clock.c -- unit tests of shared/base/clock.c: seconds to a poll wait (clamped), whole
 * sleeps. */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <sys/time.h>

#include "unit_main.h"

#include "clock.h"

/* Whole and binary-exact fractional seconds: exact milliseconds. */
static void exact_values(void **state)
{
    (void)state;
    assert_int_equal(jt_clock_ms(1.0), 1000);
    assert_int_equal(jt_clock_ms(60.0), 60000);
    assert_int_equal(jt_clock_ms(2.5), 2500);
    assert_int_equal(jt_clock_ms(0.25), 250);
    assert_int_equal(jt_clock_ms(0.1), 100);
    assert_int_equal(jt_clock_ms(0.001), 1);
    assert_int_equal(jt_clock_ms(30.0), 30000);
}

/* A partial millisecond is rounded up, never down. */
static void rounds_up(void **state)
{
    (void)state;
    assert_int_equal(jt_clock_ms(0.0015), 2);
    assert_int_equal(jt_clock_ms(1.0005), 1001);
    assert_int_equal(jt_clock_ms(0.0009), 1);
}

/* A short positive wait never becomes poll(0). */
static void tiny_positive_is_one(void **state)
{
    (void)state;
    assert_int_equal(jt_clock_ms(1e-9), 1);
    assert_int_equal(jt_clock_ms(1e-300), 1);
    assert_int_equal(jt_clock_ms(DBL_MIN), 1);
    assert_int_equal(jt_clock_ms(DBL_TRUE_MIN), 1);
}

static void zero_and_negative(void **state)
{
    (void)state;
    assert_int_equal(jt_clock_ms(0.0), 0);
    assert_int_equal(jt_clock_ms(-0.0), 0);
    assert_int_equal(jt_clock_ms(-1e-9), 0);
    assert_int_equal(jt_clock_ms(-1.0), 0);
    assert_int_equal(jt_clock_ms(-1e300), 0);
    assert_int_equal(jt_clock_ms(-INFINITY), 0);
}

static void nan_is_zero(void **state)
{
    (void)state;
    assert_int_equal(jt_clock_ms(NAN), 0);
    assert_int_equal(jt_clock_ms(-NAN), 0);
}

/* Around INT_MAX milliseconds (about 24.8 days): exact below, saturated at and above. */
static void overflow_edge(void **state)
{
    (void)state;
    assert_int_equal(JT_CLOCK_MS_MAX, INT_MAX);
    assert_int_equal(jt_clock_ms((double)(INT_MAX / 1000)), 2147483000);
    assert_int_equal(jt_clock_ms(2147483.5), 2147483500);
    assert_int_equal(jt_clock_ms(2147483.625), 2147483625);
    assert_int_equal(jt_clock_ms((double)INT_MAX / 1000.0), INT_MAX);
    assert_int_equal(jt_clock_ms(2147483.648), INT_MAX);
    assert_int_equal(jt_clock_ms(2147484.0), INT_MAX);
    assert_int_equal(jt_clock_ms((double)INT_MAX), INT_MAX);
    assert_int_equal(jt_clock_ms(1e300), INT_MAX);
    assert_int_equal(jt_clock_ms(DBL_MAX), INT_MAX);
    assert_int_equal(jt_clock_ms(INFINITY), INT_MAX);
}

/* same_process trials: a 60 s timeout, 13,000 runs. One test case per run still fits in an
 * int; with the (n_test_cases + 1) run limit of four tests it is 3.9e9 ms and saturates
 * instead of wrapping to a negative (endless) wait. */
static void many_runs(void **state)
{
    (void)state;
    assert_int_equal(jt_clock_ms(60.0 * 13000.0), 780000000);
    assert_int_equal(jt_clock_ms(60.0 * 5.0 * 13000.0), INT_MAX);
    assert_int_equal(jt_clock_ms(60.0 * 1001.0 * 1000000.0), INT_MAX);
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

/* A signal in the middle of a sleep does not cut it short: the whole pause passes. */
static void sleep_survives_signal(void **state)
{
    (void)state;
    struct sigaction sa = {.sa_handler = on_alarm}; /* no SA_RESTART: nanosleep sees EINTR */
    struct sigaction old;
    assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
    alarms = 0;
    struct itimerval it = {.it_value = {0, 20000}};
    assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
    double t0 = jt_clock_now();
    jt_clock_sleep(0.1);
    double slept = jt_clock_now() - t0;
    sigaction(SIGALRM, &old, NULL);
    assert_int_equal(alarms, 1);
    assert_true(slept >= 0.1);
    assert_true(slept < 2.0);
}

/* Nothing to wait for returns at once: zero, negative, NaN, a deadline already past. */
static void sleep_nothing_returns(void **state)
{
    (void)state;
    double t0 = jt_clock_now();
    jt_clock_sleep(0.0);
    jt_clock_sleep(-5.0);
    jt_clock_sleep(NAN);
    jt_clock_sleep_until(t0 - 10.0);
    jt_clock_sleep_until(NAN);
    jt_clock_sleep_until(INFINITY);
    jt_clock_sleep(INFINITY);
    assert_true(jt_clock_now() - t0 < 0.5);
    double deadline = jt_clock_now() + 0.03;
    jt_clock_sleep_until(deadline);
    assert_true(jt_clock_now() >= deadline);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(exact_values),
    cmocka_unit_test(rounds_up),
    cmocka_unit_test(tiny_positive_is_one),
    cmocka_unit_test(zero_and_negative),
    cmocka_unit_test(nan_is_zero),
    cmocka_unit_test(overflow_edge),
    cmocka_unit_test(many_runs),
    cmocka_unit_test(sleep_survives_signal),
    cmocka_unit_test(sleep_nothing_returns),
};

JT_UNIT_MAIN(tests)
