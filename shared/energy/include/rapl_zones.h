/* rapl_zones.h -- the powercap zones the rapl-sysfs meter reads for one socket, for provenance.
 *
 * Discovery as jt_meter_open runs it for rapl-sysfs (zones by name, nested or
 * aliased sub-zones, the mirror probe of per-die package zones: see
 * rapl_sysfs.c), answered as a list instead of a meter. Reads files only;
 * any thread.
 */
#ifndef JT_RAPL_ZONES_H
#define JT_RAPL_ZONES_H

#include <stddef.h>

#include "meter.h"
#include "status.h"

#define JT_RAPL_MAX_MIRRORS 8

/* One zone the meter reads. */
typedef struct {
    jt_domain_t domain;
    char zone[64];    /* its directory under the powercap root: "intel-rapl:0", or
                         "intel-rapl:0/intel-rapl:0:0" for a nested sub-zone */
    char name[32];    /* its name file: "package-0", "dram", ... */
    size_t n_mirrors; /* package only: other zones found to read this same counter (AMD
                         per-die package zones), counted once; their directories below */
    char mirrors[JT_RAPL_MAX_MIRRORS][64];
} jt_rapl_zone_t;

/* List the zones a rapl-sysfs meter opened with cfg (powercap_root, "" for
 * /sys/class/powercap, and socket) reads, in the meter's reading order
 * (package first): zones[0..*n), *n <= JT_METER_MAX_DOMAINS; zones must
 * hold JT_METER_MAX_DOMAINS entries. Returns JT_OK, or the error
 * jt_meter_open would give for rapl-sysfs (*err; zones and *n untouched).
 * Costs what an open costs: the mirror probe takes about 10 ms where a
 * package has several zones. */
jt_status_t jt_rapl_sysfs_zones(const jt_meter_config_t *cfg, jt_rapl_zone_t *zones, size_t *n,
                                jt_error_t *err);

#endif
