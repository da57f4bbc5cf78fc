/* meter.h -- energy meters behind one interface: RAPL sysfs, RAPL perf PMU, CPU-time estimate.
 *
 * A meter reports, per domain of one socket, the energy used since it was
 * opened as an unwrapped 64-bit microjoule count: wraparound of the hardware
 * counters (at each zone's max_energy_range_uj) is handled inside, as long as
 * reads happen more often than one wrap period (jt_sampler_t guarantees it).
 * Thread-safe: reads from the sampler thread and the caller may interleave.
 */
#ifndef JT_METER_H
#define JT_METER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define JT_METER_MAX_DOMAINS 8

typedef enum {
    JT_METER_AUTO = 0,   /* rapl-sysfs, else rapl-perf, else fail (never silently estimate) */
    JT_METER_RAPL_SYSFS,
    JT_METER_RAPL_PERF,
    JT_METER_ESTIMATE,
} jt_meter_kind_t;

/* Parse "auto", "rapl-sysfs", "rapl-perf", "estimate"; -1 for anything else. */
int jt_meter_kind_parse(const char *text);

/* Wire name of a kind ("rapl-sysfs", ...). */
const char *jt_meter_kind_name(jt_meter_kind_t k);

typedef enum {
    JT_DOMAIN_PACKAGE = 0,
    JT_DOMAIN_DRAM,
    JT_DOMAIN_CORE,
    JT_DOMAIN_UNCORE,
    JT_DOMAIN_PSYS,
} jt_domain_t;

/* Name of a domain as in results ("package", "dram", "core", "uncore", "psys"). */
const char *jt_domain_name(jt_domain_t d);

typedef struct {
    jt_meter_kind_t kind;
    char powercap_root[256];  /* rapl-sysfs: JOULETRACE_POWERCAP_ROOT, "/sys/class/powercap" */
    int socket;               /* measurement socket (package-N) */
    int measurement_core;     /* estimate: the core modelled when no box is followed */
    double estimate_idle_watts;   /* estimate: socket watts when idle */
    double estimate_active_watts; /* estimate: extra watts per fully busy core */
} jt_meter_config_t;

typedef struct jt_meter jt_meter_t;

typedef struct {
    double time;                          /* CLOCK_MONOTONIC seconds of the read */
    uint64_t energy_uj[JT_METER_MAX_DOMAINS]; /* unwrapped, since the meter was opened */
} jt_meter_reading_t;

/* Open the meter described by cfg. AUTO tries rapl-sysfs then rapl-perf.
 * Errors say what to do: a permission problem names the file and suggests
 * running as root or granting group read access on energy_uj; an absent
 * counter suggests JOULETRACE_METER=estimate. On success *out is owned by the
 * caller (jt_meter_close). */
jt_status_t jt_meter_open(const jt_meter_config_t *cfg, jt_meter_t **out, jt_error_t *err);

void jt_meter_close(jt_meter_t *m);

/* The backend actually opened (never AUTO). */
jt_meter_kind_t jt_meter_kind(const jt_meter_t *m);

/* True for the estimate backend: every number it yields is an estimate. */
bool jt_meter_is_estimate(const jt_meter_t *m);

/* Domains this meter reports, in reading order: index i of energy_uj is
 * domain jt_meter_domain(m, i). Package is always index 0. */
size_t jt_meter_domain_count(const jt_meter_t *m);
jt_domain_t jt_meter_domain(const jt_meter_t *m, size_t i);

/* Read every domain once (one call, all domains, as close together in time
 * as possible). Returns JT_OK, or JT_ERR_IO with *err saying which file. */
jt_status_t jt_meter_read(jt_meter_t *m, jt_meter_reading_t *out, jt_error_t *err);

/* Estimate meter: from now on, busy time is the CPU time of the processes in
 * the cgroup directory cgroup_dir (the measure box's: cpuacct.usage of cgroup
 * v1, cpu.stat usage_usec of v2) instead of the measurement core's; NULL or ""
 * goes back to the core. Call it again whenever the box changes (a respawned
 * runner may hold another slot): readings stay monotonic across every change,
 * and the busy time of the old source up to now is kept. JT_OK; or, when
 * cgroup_dir has no readable CPU accounting, the meter goes on with the core
 * and the error (JT_ERR_IO / JT_ERR_INVALID, naming the directory) says why,
 * for a warning. A no-op returning JT_OK for the hardware meters. Any thread. */
jt_status_t jt_meter_follow_cgroup(jt_meter_t *m, const char *cgroup_dir, jt_error_t *err);

/* Where the estimate meter's busy time comes from right now, as results name
 * it: "cgroup-v1-cpuacct", "cgroup-v2-cpu.stat" (the box's processes, ns / us),
 * "proc-schedstat" or "cpuacct-percpu" (the whole measurement core, ns) or
 * "proc-stat-ticks" (the whole core, USER_HZ ticks). NULL for the hardware meters. A static string.
 * Any thread. */
const char *jt_meter_cpu_source(jt_meter_t *m);

/* Joules of domain i between two readings (b later than a). */
double jt_meter_joules(const jt_meter_reading_t *a, const jt_meter_reading_t *b, size_t i);

#endif
