/* host_info.c -- CPU model, governor, frequency and temperature of the measurement host. */
#include "host_info.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int jt_host_read_line(const char *path, char *buf, size_t len)
{
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

/* Value of the first "key : value" line of /proc/cpuinfo for a cpu (-1 = any). */
static int cpuinfo_field(int cpu, const char *key, char *buf, size_t len)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
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
        if (strncmp(line, key, strlen(key)) != 0 || (cpu >= 0 && current != cpu))
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
    if (cpuinfo_field(-1, "model name", buf, len) < 0)
        snprintf(buf, len, "unknown");
}

void jt_host_governor(int core, char *buf, size_t len)
{
    char path[128];
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/cpufreq/scaling_governor", core);
    if (jt_host_read_line(path, buf, len) < 0)
        buf[0] = '\0';
}

double jt_host_frequency_mhz(int core)
{
    char path[128], line[64];
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/cpufreq/scaling_cur_freq", core);
    if (jt_host_read_line(path, line, sizeof line) == 0)
        return atof(line) / 1000.0;
    if (cpuinfo_field(core, "cpu MHz", line, sizeof line) == 0)
        return atof(line);
    return 0.0;
}

static double read_millidegrees(const char *path)
{
    char line[32];
    if (jt_host_read_line(path, line, sizeof line) < 0)
        return NAN;
    char *end;
    double v = strtod(line, &end);
    if (end == line || v <= -50000 || v > 200000)
        return NAN;
    return v / 1000.0;
}

static double thermal_zone_temperature(void)
{
    double fallback = NAN;
    for (int i = 0; i < 64; i++) {
        char path[128], type[64];
        snprintf(path, sizeof path, "/sys/class/thermal/thermal_zone%d/type", i);
        if (jt_host_read_line(path, type, sizeof type) < 0)
            continue;
        snprintf(path, sizeof path, "/sys/class/thermal/thermal_zone%d/temp", i);
        double t = read_millidegrees(path);
        if (strcmp(type, "x86_pkg_temp") == 0 && !isnan(t))
            return t;
        if (isnan(fallback))
            fallback = t;
    }
    return fallback;
}

static double hwmon_temperature(void)
{
    static const char *const preferred[] = {"coretemp", "k10temp", "zenpower"};
    double fallback = NAN;
    for (int i = 0; i < 64; i++) {
        char path[128], name[64];
        snprintf(path, sizeof path, "/sys/class/hwmon/hwmon%d/name", i);
        if (jt_host_read_line(path, name, sizeof name) < 0)
            continue;
        snprintf(path, sizeof path, "/sys/class/hwmon/hwmon%d/temp1_input", i);
        double t = read_millidegrees(path);
        for (size_t k = 0; k < sizeof preferred / sizeof preferred[0]; k++)
            if (strcmp(name, preferred[k]) == 0 && !isnan(t))
                return t;
        if (isnan(fallback))
            fallback = t;
    }
    return fallback;
}

double jt_host_temperature_c(void)
{
    double t = thermal_zone_temperature();
    return isnan(t) ? hwmon_temperature() : t;
}

int jt_host_thermal_wait(double max_seconds)
{
    double last = jt_host_temperature_c();
    if (isnan(last))
        return -1;
    for (double waited = 0; waited < max_seconds; waited += 1.0) {
        struct timespec ts = {1, 0};
        nanosleep(&ts, NULL);
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
    if (jt_host_read_line(path, line, sizeof line) == 0)
        return line[0] == '1';
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d", cpu);
    return access(path, F_OK) == 0;
}
