/* host_info.h -- facts about the measurement host: CPU model, governor, frequency, temperature. */
#ifndef JT_HOST_INFO_H
#define JT_HOST_INFO_H

#include <stddef.h>

/* Model name of the CPUs ("AMD EPYC"), or "unknown". */
void jt_host_cpu_model(char *buf, size_t len);

/* cpufreq governor of a core, or "" when cpufreq is absent. */
void jt_host_governor(int core, char *buf, size_t len);

/* Current frequency of a core in MHz (cpufreq, else /proc/cpuinfo), 0 when unknown. */
double jt_host_frequency_mhz(int core);

/* Package temperature in °C: the thermal zone of type x86_pkg_temp, else
 * the readable zone with the smallest number; without any readable zone the
 * hwmon device named coretemp, k10temp or zenpower (temp1_input), else the
 * readable one with the smallest number. NaN when no sensor is readable. */
double jt_host_temperature_c(void);

/* The same, under sys_class instead of /sys/class (tests point it at a
 * fake tree). */
double jt_host_temperature_in(const char *sys_class);

/* Wait up to max_seconds for the temperature to settle (less than 0.5 °C of
 * change over one second). Returns 1 when it settled, 0 when the time ran
 * out, -1 when no sensor is readable (returns at once). */
int jt_host_thermal_wait(double max_seconds);

/* ---- the same facts under other roots (tests point them at fake trees) ---- */

/* First line of <root>/<rel>, newline stripped, into buf. 0, or -1 when it
 * cannot be read (buf then unspecified). */
int jt_host_read_line_in(const char *root, const char *rel, char *buf, size_t len);

/* Value of the first "key : value" line of <proc_root>/cpuinfo in the block
 * of processor cpu (-1: the first block that has the key), the key matched
 * whole ("cpu MHz" never matches "cpu MHz dynamic"). 0, or -1 when absent. */
int jt_host_cpuinfo_in(const char *proc_root, int cpu, const char *key, char *buf, size_t len);

/* jt_host_governor with <sys_root> for /sys. */
void jt_host_governor_in(const char *sys_root, int core, char *buf, size_t len);

/* jt_host_frequency_mhz with <sys_root> for /sys and <proc_root> for /proc. */
double jt_host_frequency_mhz_in(const char *sys_root, const char *proc_root, int core);

/* Number of the highest online CPU (from sysconf), at least 0. */
int jt_host_highest_cpu(void);

/* Whether cpu exists (is online). */
int jt_host_cpu_online(int cpu);

#endif
