/* meter_backend.h -- private: the vtable behind jt_meter_t and the backends' testable internals.
 *
 * A backend reports raw per-domain counters in microjoules; meter.c turns
 * them into unwrapped totals (wrapping each domain at its own range) under a
 * mutex, so backends need no locking of their own: meter.c calls read() with
 * its mutex held, from whichever thread called jt_meter_read.
 */
#ifndef JT_METER_BACKEND_H
#define JT_METER_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "meter.h"
#include "status.h"

/* What a backend measures, filled by open(): domain i of every raw read is
 * domain[i]; package is index 0. range_uj[i] is the value at which raw
 * counter i wraps back to 0 (max_energy_range_uj), or 0 for a counter that
 * never wraps in practice (64-bit). */
typedef struct {
    size_t n;
    jt_domain_t domain[JT_METER_MAX_DOMAINS];
    uint64_t range_uj[JT_METER_MAX_DOMAINS];
} jt_meter_layout_t;

typedef struct {
    jt_meter_kind_t kind;
    /* Open for cfg: on success *state (freed by close) and *layout are set;
     * on failure nothing is left allocated and *err says what to do. */
    jt_status_t (*open)(const jt_meter_config_t *cfg, void **state, jt_meter_layout_t *layout,
                        jt_error_t *err);
    /* Read every domain once into raw_uj[0..layout.n). On failure raw_uj is
     * unspecified and *err names the file (JT_ERR_IO). */
    jt_status_t (*read)(void *state, uint64_t *raw_uj, jt_error_t *err);
    void (*close)(void *state);
} jt_meter_backend_t;

extern const jt_meter_backend_t jt_rapl_sysfs_backend;
extern const jt_meter_backend_t jt_rapl_perf_backend;
extern const jt_meter_backend_t jt_estimate_backend;

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
