/* clock.c -- monotonic, Unix and UTC clock readings, sleeps, and the clamped
 * seconds-to-milliseconds rule. */
#include "clock.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <time.h>

static struct timespec read_clock(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts;
}

double jt_clock_now(void)
{
    struct timespec ts = read_clock(CLOCK_MONOTONIC);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t jt_clock_now_ns(void)
{
    struct timespec ts = read_clock(CLOCK_MONOTONIC);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t jt_clock_now_ms(void)
{
    struct timespec ts = read_clock(CLOCK_MONOTONIC);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double jt_clock_unix(void)
{
    struct timespec ts = read_clock(CLOCK_REALTIME);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void jt_clock_utc_iso(char *buf, size_t len)
{
    struct timespec ts = read_clock(CLOCK_REALTIME);
    struct tm tm;
    char date[24];
    if (len == 0)
        return;
    gmtime_r(&ts.tv_sec, &tm);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, len, "%.20s.%03dZ", date, (int)(ts.tv_nsec / 1000000) % 1000);
}

void jt_clock_sleep_until(double deadline)
{
    if (!isfinite(deadline) || deadline <= 0.0)
        return;
    struct timespec ts = {(time_t)deadline, (long)((deadline - floor(deadline)) * 1e9)};
    if (ts.tv_nsec >= 1000000000L)
        ts.tv_nsec = 999999999L;
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

void jt_clock_sleep(double seconds)
{
    if (isnan(seconds) || seconds <= 0.0)
        return;
    jt_clock_sleep_until(jt_clock_now() + seconds);
}

int jt_clock_ms(double seconds)
{
    if (isnan(seconds) || seconds <= 0.0)
        return 0;
    if (seconds >= (double)JT_CLOCK_MS_MAX / 1000.0)
        return JT_CLOCK_MS_MAX;
    double ms = ceil(seconds * 1000.0);
    return ms >= (double)JT_CLOCK_MS_MAX ? JT_CLOCK_MS_MAX : (int)ms;
}
