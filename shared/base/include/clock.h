/* clock.h -- the one place JouleTrace reads clocks, sleeps, and turns seconds into poll/wait
 * milliseconds.
 *
 * Monotonic readings are for intervals and deadlines; the Unix and UTC
 * readings are for records people read. Every function is thread-safe.
 */
#ifndef JT_CLOCK_H
#define JT_CLOCK_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

/* Longest wait jt_clock_ms returns: INT_MAX ms, about 24.8 days. */
#define JT_CLOCK_MS_MAX INT_MAX

/* Room for a jt_clock_utc_iso text ("2024-05-01T12:00:00.123Z" and its NUL). */
#define JT_CLOCK_ISO_MAX 32

/* CLOCK_MONOTONIC in seconds. */
double jt_clock_now(void);

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t jt_clock_now_ns(void);

/* CLOCK_MONOTONIC in milliseconds. */
int64_t jt_clock_now_ms(void);

/* CLOCK_REALTIME in seconds since the Unix epoch, with its sub-second part. */
double jt_clock_unix(void);

/* Now as UTC ISO 8601 with milliseconds, "2024-05-01T12:00:00.123Z", into buf
 * (len >= JT_CLOCK_ISO_MAX; a shorter buffer gets a truncated, NUL-terminated text). */
void jt_clock_utc_iso(char *buf, size_t len);

/* Sleep for seconds on CLOCK_MONOTONIC, resuming after a signal, so the whole pause
 * passes. NaN, infinity and seconds <= 0 return at once (no pause is endless). */
void jt_clock_sleep(double seconds);

/* Sleep until jt_clock_now() reaches deadline (monotonic seconds), resuming after a
 * signal; a deadline already past, NaN or infinite returns at once. */
void jt_clock_sleep_until(double deadline);

/* seconds as a wait in whole milliseconds for poll() and friends, rounded up so
 * that a short positive wait never becomes a busy poll(0): NaN and seconds <= 0
 * give 0, anything at or above JT_CLOCK_MS_MAX / 1000 gives JT_CLOCK_MS_MAX.
 * Never negative, so never poll's "wait forever". */
int jt_clock_ms(double seconds);

#endif
