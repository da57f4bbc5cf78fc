/* meter_detail.h -- the meters' checkable details: counter wrap arithmetic, the permission message, rapl-perf discovery.
 *
 * Public so that tests and tools can check them on their own; programs use meter.h.
 * Pure functions and file reads; any thread.
 */
#ifndef JT_METER_DETAIL_H
#define JT_METER_DETAIL_H

#include <stdint.h>

#include "meter.h"
#include "status.h"

/* Energy added between two raw readings of a counter that wraps at range_uj
 * (0: never wraps). A reading below the previous one is one wrap. */
uint64_t jt_meter_wrap_delta(uint64_t prev, uint64_t now, uint64_t range_uj);

/* Fill *err with the permission message for an unreadable counter file. */
jt_status_t jt_meter_permission_error(jt_error_t *err, const char *path);

/* rapl-perf discovery, exposed for tests: the perf events that would be
 * opened for one socket, found under sysfs_root (normally "/sys"). */
typedef struct {
    int pmu_type; /* /sys/bus/event_source/devices/power/type */
    int cpu;      /* first CPU of the socket */
    size_t n;
    jt_domain_t domain[JT_METER_MAX_DOMAINS];
    uint64_t config[JT_METER_MAX_DOMAINS]; /* perf_event_attr.config */
    double scale[JT_METER_MAX_DOMAINS];    /* Joules per count */
} jt_perf_plan_t;

/* Discover the RAPL PMU events for socket under sysfs_root. JT_OK with
 * *plan filled (package always index 0), or JT_ERR_IO / JT_ERR_INVALID with
 * *err naming the file; *plan is then unspecified. */
jt_status_t jt_rapl_perf_discover(const char *sysfs_root, int socket, jt_perf_plan_t *plan,
                                  jt_error_t *err);

/* Root used for rapl-perf discovery: JOULETRACE_SYSFS_ROOT, default "/sys". */
const char *jt_rapl_perf_sysfs_root(void);

#endif
