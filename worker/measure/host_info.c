/* host_info.c -- CPU model, governor, frequency and temperature of the measurement host. */
#include "host_info.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

/* Read a short text file (first line, newline stripped) into buf; 0 or -1. */
static int read_line(const char *path, char *buf, size_t len)
{
    if (len == 0)
        return -1;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    char *got = fgets(buf, (int)len, f);
    fclose(f);
    if (got == NULL)
        return -1;
    buf[strcspn(buf, "\n")] = '\0';
    return 0;
}

int jt_host_read_line_in(const char *root, const char *rel, char *buf, size_t len)
{
    char path[512];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", root, rel) >= sizeof path)
        return -1;
    return read_line(path, buf, len);
}

int jt_host_cpuinfo_in(const char *proc_root, int cpu, const char *key, char *buf, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%.500s/cpuinfo", proc_root);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    char line[512];
    int current = -1, rc = -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "processor", 9) == 0) {
            char *colon = strchr(line, ':');
            current = colon ? atoi(colon + 1) : -1;
            continue;
        }
        size_t klen = strlen(key);
        if (strncmp(line, key, klen) != 0 ||
            (line[klen] != ' ' && line[klen] != '\t' && line[klen] != ':') ||
            (cpu >= 0 && current != cpu))
            continue;
        char *colon = strchr(line, ':');
        if (colon == NULL)
            continue;
        colon++;
        while (*colon == ' ' || *colon == '\t')
            colon++;
        colon[strcspn(colon, "\n")] = '\0';
        snprintf(buf, len, "%s", colon);
        rc = 0;
        break;
    }
    fclose(f);
    return rc;
}

void jt_host_cpu_model(char *buf, size_t len)
{
    if (jt_host_cpuinfo_in("/proc", -1, "model name", buf, len) < 0)
        snprintf(buf, len, "unknown");
}

void jt_host_governor_in(const char *sys_root, int core, char *buf, size_t len)
{
    char rel[128];
    snprintf(rel, sizeof rel, "devices/system/cpu/cpu%d/cpufreq/scaling_governor", core);
    if (jt_host_read_line_in(sys_root, rel, buf, len) < 0)
        buf[0] = '\0';
}

void jt_host_governor(int core, char *buf, size_t len)
{
    jt_host_governor_in("/sys", core, buf, len);
}

double jt_host_frequency_mhz_in(const char *sys_root, const char *proc_root, int core)
{
    char rel[128], line[64];
    snprintf(rel, sizeof rel, "devices/system/cpu/cpu%d/cpufreq/scaling_cur_freq", core);
    if (jt_host_read_line_in(sys_root, rel, line, sizeof line) == 0 && atof(line) > 0)
        return atof(line) / 1000.0;
    if (jt_host_cpuinfo_in(proc_root, core, "cpu MHz", line, sizeof line) == 0 && atof(line) > 0)
        return atof(line);
    return 0.0;
}

double jt_host_frequency_mhz(int core)
{
    return jt_host_frequency_mhz_in("/sys", "/proc", core);
}

static double read_millidegrees(const char *path)
{
    char line[32];
    if (read_line(path, line, sizeof line) < 0)
        return NAN;
    char *end;
    double v = strtod(line, &end);
    if (end == line || v <= -50000 || v > 200000)
        return NAN;
    return v / 1000.0;
}

/* The temperature of the sensor class under dir (entries prefix<N>): the
 * first entry whose label file names one of `preferred`, else the readable
 * entry with the smallest N. Every entry is looked at, whatever its number
 * (servers with many drives number hwmon devices past 100). */
static double class_temperature(const char *dir, const char *prefix, const char *label_file,
                                const char *temp_file, const char *const *preferred,
                                size_t n_preferred)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return NAN;
    double fallback = NAN;
    long fallback_index = -1;
    size_t plen = strlen(prefix);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, prefix, plen) != 0 || de->d_name[plen] < '0' ||
            de->d_name[plen] > '9')
            continue;
        long index = strtol(de->d_name + plen, NULL, 10);
        char path[320], label[64];
        snprintf(path, sizeof path, "%s/%.200s/%s", dir, de->d_name, label_file);
        if (read_line(path, label, sizeof label) < 0)
            continue;
        snprintf(path, sizeof path, "%s/%.200s/%s", dir, de->d_name, temp_file);
        double t = read_millidegrees(path);
        if (isnan(t))
            continue;
        for (size_t k = 0; k < n_preferred; k++)
            if (strcmp(label, preferred[k]) == 0) {
                closedir(d);
                return t;
            }
        if (fallback_index < 0 || index < fallback_index) {
            fallback = t;
            fallback_index = index;
        }
    }
    closedir(d);
    return fallback;
}

double jt_host_temperature_in(const char *sys_class)
{
    static const char *const package_zone[] = {"x86_pkg_temp"};
    static const char *const cpu_hwmon[] = {"coretemp", "k10temp", "zenpower"};
    char dir[256];
    snprintf(dir, sizeof dir, "%.200s/thermal", sys_class);
    double t = class_temperature(dir, "thermal_zone", "type", "temp", package_zone, 1);
    if (isnan(t)) {
        snprintf(dir, sizeof dir, "%.200s/hwmon", sys_class);
        t = class_temperature(dir, "hwmon", "name", "temp1_input", cpu_hwmon, 3);
    }
    return t;
}

double jt_host_temperature_c(void)
{
    return jt_host_temperature_in("/sys/class");
}

int jt_host_thermal_wait(double max_seconds)
{
    double last = jt_host_temperature_c();
    if (isnan(last))
        return -1;
    for (double waited = 0; waited < max_seconds; waited += 1.0) {
        jt_clock_sleep(1.0);
        double now = jt_host_temperature_c();
        if (isnan(now))
            return -1;
        if (fabs(now - last) < 0.5)
            return 1;
        last = now;
    }
    return max_seconds <= 0 ? 1 : 0;
}

int jt_host_highest_cpu(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n - 1 : 0;
}

int jt_host_cpu_online(int cpu)
{
    if (cpu == 0)
        return 1;
    char path[96], line[8];
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/online", cpu);
    if (read_line(path, line, sizeof line) == 0)
        return line[0] == '1';
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d", cpu);
    return access(path, F_OK) == 0;
}
