/* meter_backend.h -- private to shared/energy: the vtable behind jt_meter_t.
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
#include "meter_detail.h"
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
    /* Optional (NULL: the backend measures no processes). From now on model
     * the CPU time of the cgroup at cgroup_dir ("": none); raw counters stay
     * monotonic across the change. Same errors as jt_meter_follow_cgroup. */
    jt_status_t (*follow)(void *state, const char *cgroup_dir, jt_error_t *err);
    /* Optional: the CPU time source in use (jt_meter_cpu_source). */
    const char *(*cpu_source)(const void *state);
} jt_meter_backend_t;

extern const jt_meter_backend_t jt_rapl_sysfs_backend;
extern const jt_meter_backend_t jt_rapl_perf_backend;
extern const jt_meter_backend_t jt_estimate_backend;

#endif
