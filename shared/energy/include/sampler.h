/* sampler.h -- a thread that reads a meter periodically: wrap safety and power timelines.
 *
 * Reading at a fixed rate guarantees no interval between two reads contains
 * two counter wraps, and, while a recording is active, stores a power
 * timeline (time, watts per domain). Runs its own thread; the public calls
 * are thread-safe.
 */
#ifndef JT_SAMPLER_H
#define JT_SAMPLER_H

#include <stddef.h>

#include "meter.h"
#include "status.h"

#define JT_SAMPLER_MAX_POINTS 100000 /* cap on one recording's timeline */

typedef struct {
    double time;                        /* seconds since the recording began */
    double watts[JT_METER_MAX_DOMAINS]; /* average power per domain since the previous point */
} jt_power_point_t;

typedef struct jt_sampler jt_sampler_t;

/* Start sampling m (borrowed; must outlive the sampler) at hz (1..10000).
 * Returns JT_OK or JT_ERR_SYSTEM. */
jt_status_t jt_sampler_start(jt_meter_t *m, double hz, jt_sampler_t **out, jt_error_t *err);

/* Stop the thread and free the sampler. NULL is a no-op. */
void jt_sampler_stop(jt_sampler_t *s);

/* Begin recording a timeline (discarding any previous one). */
void jt_sampler_record_begin(jt_sampler_t *s);

/* End the recording: *points (malloc'd, caller frees; NULL when empty) and
 * *n receive the timeline, at most JT_SAMPLER_MAX_POINTS points. */
void jt_sampler_record_end(jt_sampler_t *s, jt_power_point_t **points, size_t *n);

/* Number of reads done so far (for tests and benchmarks). */
unsigned long jt_sampler_reads(const jt_sampler_t *s);

#endif
