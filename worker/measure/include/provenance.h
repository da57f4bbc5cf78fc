/* provenance.h -- what a result was measured on: CPU, kernel, clock policy, Python, versions.
 *
 * A JSON object for the result's measurement environment, so that two
 * numbers from different hosts or settings are never compared blindly.
 * Every value is read from the host at the time of the call; a value the
 * host does not expose is JSON null, never guessed. Keys and types:
 *
 *   measurement_core      int
 *   socket                int
 *   cpu_model             str|null  /proc/cpuinfo "model name" of the core
 *   microcode             str|null  /proc/cpuinfo "microcode" of the core
 *   kernel                {"release": str, "version": str}|null   uname(2)
 *   governor              str|null  cpu<core>/cpufreq/scaling_governor
 *   boost                 bool|null true when turbo/boost may raise the clock:
 *                                   cpufreq/boost, else intel_pstate/no_turbo
 *                                   (inverted), else cpu<core>/cpufreq/boost
 *   boost_source          str|null  which of those files said it
 *   smt                   bool|null devices/system/cpu/smt/active
 *   smt_control           str|null  devices/system/cpu/smt/control ("on", "off",
 *                                   "forceoff", "notsupported", ...)
 *   frequency_mhz         num|null  scaling_cur_freq of the core, else "cpu MHz"
 *   perf_event_paranoid   int|null  /proc/sys/kernel/perf_event_paranoid
 *   python_executable     str|null  the interpreter asked
 *   python_version        str|null  its sys.version's first word ("3.11.7")
 *   python_build_version  str       the major.minor of the libpython the runner
 *                                   embeds, from the build (pkg-config python3-embed)
 *   jouletrace_version    str       the CMake project version
 *
 * Which Python: the sandbox runs candidates in the libpython that
 * jouletrace-runner embeds (home fixed at build time: JT_PYTHON_HOME, never
 * found through PATH). That library has no executable of its own to ask, so
 * the default interpreter is the one of the same prefix and major.minor,
 * <python3-embed prefix>/bin/python<major.minor> (JT_PROVENANCE_PYTHON, from
 * the build), run as `python -I -S -c ...` with an empty environment and a
 * 5 s limit.
 *
 * Threads: any thread; the call forks one short-lived interpreter
 * (posix_spawn, about 20 ms): collect once per job, not per trial.
 */
#ifndef JT_PROVENANCE_H
#define JT_PROVENANCE_H

#include <jansson.h>

#include "meter.h"

/* Roots of the files read (tests point them at fake trees). */
typedef struct {
    const char *proc; /* "/proc" */
    const char *sys;  /* "/sys" */
} jt_provenance_roots_t;

/* The interpreter asked when the caller names none (from the build). */
const char *jt_provenance_default_python(void);

/* The provenance object for measure_core on socket, asking python_exe for
 * its version (NULL: jt_provenance_default_python()). New reference, NULL
 * only when out of memory. */
json_t *jt_provenance_collect(int measure_core, int socket, const char *python_exe);

/* The same with other roots for /proc and /sys. */
json_t *jt_provenance_collect_in(const jt_provenance_roots_t *roots, int measure_core, int socket,
                                 const char *python_exe);

/* Add the meter's side to prov: "meter" (kind name), "energy_is_estimated"
 * (bool), "energy_domains" (the domain names m reads, in reading order) and,
 * for rapl-sysfs, "rapl_zones": [{"domain", "zone", "name", "mirrors": [zone
 * directories counted once with it]}] from jt_rapl_sysfs_zones(cfg) (cfg as
 * the meter was opened with; null when that discovery now fails; absent for
 * other meters). Returns 0, or -1 when out of memory (prov may then hold
 * some of the keys). */
int jt_provenance_add_meter(json_t *prov, const jt_meter_t *m, const jt_meter_config_t *cfg);

#endif
