/* provenance.c -- collect the measurement host's identity and settings as one JSON object. */
#include "provenance.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "host_info.h"
#include "rapl_zones.h"

#ifndef JT_VERSION
#error "JT_VERSION (the CMake project version) must be defined by the build"
#endif
#ifndef JT_PROVENANCE_PYTHON
#error "JT_PROVENANCE_PYTHON (the interpreter beside the embedded libpython) must be defined"
#endif
#ifndef JT_PYTHON_BUILD_VERSION
#error "JT_PYTHON_BUILD_VERSION (python3-embed's version) must be defined by the build"
#endif

#define PYTHON_SECONDS 5.0
#define VERSION_MAX 32

const char *jt_provenance_default_python(void)
{
    return JT_PROVENANCE_PYTHON;
}

/* Whether text is a Python version: digits '.' digits, then only
 * [0-9A-Za-z.+] ("3.11.7", "3.13.0rc1", "3.12.1+"). */
static bool is_version(const char *text)
{
    const char *p = text;
    int dots = 0;
    if (*p < '0' || *p > '9')
        return false;
    for (; *p != '\0'; p++) {
        bool alnum =
            (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z');
        if (*p == '.')
            dots++;
        else if (!alnum && *p != '+')
            return false;
    }
    return dots >= 1 && p - text < VERSION_MAX;
}

/* Read the child's stdout until EOF, len - 1 bytes or the deadline. Returns
 * the bytes read, or -1 when the deadline passed first. */
static ssize_t read_until(int fd, char *buf, size_t len, double deadline)
{
    size_t got = 0;
    for (;;) {
        double left = deadline - jt_clock_now();
        if (left <= 0)
            return -1;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int pr = poll(&pfd, 1, jt_clock_ms(left));
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            return pr == 0 ? -1 : (ssize_t)got;
        ssize_t n = read(fd, buf + got, len - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
        if (got == len - 1)
            break; /* more than a version: is_version refuses it */
    }
    buf[got] = '\0';
    return (ssize_t)got;
}

/* Ask exe for its version: into buf (VERSION_MAX bytes) and true, or false
 * when it cannot be run, fails, takes more than PYTHON_SECONDS or prints
 * anything but a version. */
static bool python_version(const char *exe, char *buf)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return false;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    char *argv[] = {
        (char *)exe, "-I", "-S", "-c", "import sys; sys.stdout.write(sys.version.split()[0])",
        NULL};
    char *envp[] = {"LC_ALL=C", NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, exe, &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    if (rc != 0) {
        close(p[0]);
        return false;
    }
    char out[VERSION_MAX * 2];
    ssize_t got = read_until(p[0], out, sizeof out, jt_clock_now() + PYTHON_SECONDS);
    close(p[0]);
    if (got < 0)
        kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (got <= 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || !is_version(out))
        return false;
    snprintf(buf, VERSION_MAX, "%.*s", VERSION_MAX - 1, out); /* is_version bounded it */
    return true;
}

/* Parse a whole decimal integer (surrounding blanks allowed). */
static bool parse_int(const char *text, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    while (*end == ' ' || *end == '\t')
        end++;
    if (end == text || *end != '\0' || errno != 0)
        return false;
    *out = v;
    return true;
}

/* A "0"/"1" file under root: 1, 0, or -1 when absent or anything else. */
static int read_flag(const char *root, const char *rel)
{
    char line[16];
    long v;
    if (jt_host_read_line_in(root, rel, line, sizeof line) < 0 || !parse_int(line, &v) ||
        (v != 0 && v != 1))
        return -1;
    return (int)v;
}

static json_t *string_or_null(bool have, const char *text)
{
    return have ? json_string(text) : json_null();
}

static json_t *flag_json(int flag)
{
    return flag < 0 ? json_null() : json_boolean(flag);
}

/* boost and boost_source. */
static int add_boost(json_t *o, const char *sys, int core)
{
    char per_core[96];
    snprintf(per_core, sizeof per_core, "devices/system/cpu/cpu%d/cpufreq/boost", core);
    const char *const files[3] = {"devices/system/cpu/cpufreq/boost",
                                  "devices/system/cpu/intel_pstate/no_turbo", per_core};
    for (int k = 0; k < 3; k++) {
        int flag = read_flag(sys, files[k]);
        if (flag < 0)
            continue;
        bool boost = k == 1 ? flag == 0 : flag == 1; /* no_turbo says the opposite */
        const char *source = files[k] + strlen("devices/system/cpu/");
        return json_object_set_new(o, "boost", json_boolean(boost)) |
               json_object_set_new(o, "boost_source", json_string(source));
    }
    return json_object_set_new(o, "boost", json_null()) |
           json_object_set_new(o, "boost_source", json_null());
}

static json_t *kernel_json(void)
{
    struct utsname u;
    if (uname(&u) != 0)
        return json_null();
    return json_pack("{s:s, s:s}", "release", u.release, "version", u.version);
}

/* "model name" or "microcode" of the core, else of the first CPU listing it. */
static json_t *cpuinfo_json(const char *proc, int core, const char *key)
{
    char buf[256];
    bool have = jt_host_cpuinfo_in(proc, core, key, buf, sizeof buf) == 0 ||
                jt_host_cpuinfo_in(proc, -1, key, buf, sizeof buf) == 0;
    return string_or_null(have && buf[0] != '\0', buf);
}

json_t *jt_provenance_collect_in(const jt_provenance_roots_t *roots, int measure_core, int socket,
                                 const char *python_exe)
{
    const char *proc = roots->proc, *sys = roots->sys;
    const char *exe = python_exe ? python_exe : jt_provenance_default_python();
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    int bad = json_object_set_new(o, "measurement_core", json_integer(measure_core));
    bad |= json_object_set_new(o, "socket", json_integer(socket));
    bad |= json_object_set_new(o, "cpu_model", cpuinfo_json(proc, measure_core, "model name"));
    bad |= json_object_set_new(o, "microcode", cpuinfo_json(proc, measure_core, "microcode"));
    bad |= json_object_set_new(o, "kernel", kernel_json());

    char text[128];
    jt_host_governor_in(sys, measure_core, text, sizeof text);
    bad |= json_object_set_new(o, "governor", string_or_null(text[0] != '\0', text));
    bad |= add_boost(o, sys, measure_core);
    bad |=
        json_object_set_new(o, "smt", flag_json(read_flag(sys, "devices/system/cpu/smt/active")));
    bool have = jt_host_read_line_in(sys, "devices/system/cpu/smt/control", text, sizeof text) == 0;
    bad |= json_object_set_new(o, "smt_control", string_or_null(have && text[0] != '\0', text));
    double mhz = jt_host_frequency_mhz_in(sys, proc, measure_core);
    bad |= json_object_set_new(o, "frequency_mhz", mhz > 0 ? json_real(mhz) : json_null());
    long paranoid;
    have = jt_host_read_line_in(proc, "sys/kernel/perf_event_paranoid", text, sizeof text) == 0 &&
           parse_int(text, &paranoid);
    bad |=
        json_object_set_new(o, "perf_event_paranoid", have ? json_integer(paranoid) : json_null());

    char version[VERSION_MAX];
    bool have_exe = exe != NULL && exe[0] != '\0';
    bad |= json_object_set_new(o, "python_executable", string_or_null(have_exe, exe));
    have = have_exe && python_version(exe, version);
    bad |= json_object_set_new(o, "python_version", string_or_null(have, version));
    bad |= json_object_set_new(o, "python_build_version", json_string(JT_PYTHON_BUILD_VERSION));
    bad |= json_object_set_new(o, "jouletrace_version", json_string(JT_VERSION));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *jt_provenance_collect(int measure_core, int socket, const char *python_exe)
{
    jt_provenance_roots_t roots = {.proc = "/proc", .sys = "/sys"};
    return jt_provenance_collect_in(&roots, measure_core, socket, python_exe);
}

/* [{"domain", "zone", "name", "mirrors": [...]}] of the rapl-sysfs zones
 * cfg leads to, or null when their discovery fails now. */
static json_t *rapl_zones_json(const jt_meter_config_t *cfg)
{
    jt_rapl_zone_t zones[JT_METER_MAX_DOMAINS];
    size_t n = 0;
    jt_error_t err;
    if (jt_rapl_sysfs_zones(cfg, zones, &n, &err) != JT_OK)
        return json_null();
    json_t *list = json_array();
    for (size_t i = 0; list != NULL && i < n; i++) {
        json_t *mirrors = json_array();
        for (size_t k = 0; mirrors != NULL && k < zones[i].n_mirrors; k++)
            if (json_array_append_new(mirrors, json_string(zones[i].mirrors[k])) != 0) {
                json_decref(mirrors);
                mirrors = NULL;
            }
        json_t *z =
            mirrors ? json_pack("{s:s, s:s, s:s, s:o}", "domain", jt_domain_name(zones[i].domain),
                                "zone", zones[i].zone, "name", zones[i].name, "mirrors", mirrors)
                    : NULL;
        if (json_array_append_new(list, z) != 0) {
            json_decref(list);
            list = NULL;
        }
    }
    return list;
}

int jt_provenance_add_meter(json_t *prov, const jt_meter_t *m, const jt_meter_config_t *cfg)
{
    jt_meter_kind_t kind = jt_meter_kind(m);
    json_t *domains = json_array();
    for (size_t i = 0; domains != NULL && i < jt_meter_domain_count(m); i++)
        if (json_array_append_new(domains, json_string(jt_domain_name(jt_meter_domain(m, i)))) !=
            0) {
            json_decref(domains);
            domains = NULL;
        }
    int bad = json_object_set_new(prov, "meter", json_string(jt_meter_kind_name(kind)));
    bad |= json_object_set_new(prov, "energy_is_estimated", json_boolean(jt_meter_is_estimate(m)));
    bad |= json_object_set_new(prov, "energy_domains", domains);
    if (kind == JT_METER_RAPL_SYSFS)
        bad |= json_object_set_new(prov, "rapl_zones", rapl_zones_json(cfg));
    return bad ? -1 : 0;
}
