/* test_config.c -- unit tests of JOULETRACE_* environment parsing (shared/config.c). */
#include <stdlib.h>

#include "unit_main.h"

#include "config.h"

static const char *const all_vars[] = {
    "JOULETRACE_LOG_LEVEL",
    "JOULETRACE_SANDBOX_DIR",
    "JOULETRACE_SANDBOX_UID_BASE",
    "JOULETRACE_SANDBOX_SLOTS",
    "JOULETRACE_VALIDATE_CORE",
    "JOULETRACE_RUNNER",
    "JOULETRACE_OUTPUT_LIMIT_BYTES",
    "JOULETRACE_VALIDATION_BUDGET_SECONDS",
    "JOULETRACE_METER",
    "JOULETRACE_POWERCAP_ROOT",
    "JOULETRACE_SOCKET",
    "JOULETRACE_MEASURE_CORE",
    "JOULETRACE_CALIBRATION",
    "JOULETRACE_SAMPLE_HZ",
    "JOULETRACE_ESTIMATE_IDLE_WATTS",
    "JOULETRACE_ESTIMATE_ACTIVE_WATTS",
    "JOULETRACE_CALIBRATION_MAX_CV_PERCENT",
    "JOULETRACE_NATS_CREDENTIALS_FILE",
    "JOULETRACE_LEASE_HOST",
};

static int clear_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof all_vars / sizeof all_vars[0]; i++)
        unsetenv(all_vars[i]);
    return 0;
}

static void set(const char *name, const char *value)
{
    assert_int_equal(setenv(name, value, 1), 0);
}

/* A string of n copies of c (static storage, n < 1024). */
static const char *repeat(char c, size_t n)
{
    static char buf[1024];
    assert_true(n < sizeof buf);
    memset(buf, c, n);
    buf[n] = '\0';
    return buf;
}

static void load_ok(jt_config_t *cfg)
{
    jt_error_t err;
    memset(&err, 0, sizeof err);
    jt_status_t s = jt_config_load(cfg, &err);
    if (s != JT_OK)
        fail_msg("jt_config_load failed: %s: %s", err.path, err.message);
}

static void assert_defaults(const jt_config_t *cfg)
{
    assert_int_equal(cfg->log_level, JT_LOG_INFO);
    assert_string_equal(cfg->sandbox_dir, "/tmp");
    assert_int_equal(cfg->sandbox_uid_base, 60000);
    assert_int_equal(cfg->sandbox_slots, 32);
    assert_int_equal(cfg->validate_core, 0);
    assert_string_equal(cfg->runner_path, "");
    assert_int_equal(cfg->output_limit_bytes, 65536);
    assert_true(cfg->validation_budget_seconds == 600.0);
    assert_string_equal(cfg->meter, "auto");
    assert_string_equal(cfg->powercap_root, "/sys/class/powercap");
    assert_int_equal(cfg->socket, 0);
    assert_int_equal(cfg->measure_core, -1);
    assert_string_equal(cfg->calibration_path, "config/socket0_calibration.json");
    assert_true(cfg->sample_hz == 100.0);
    assert_true(cfg->estimate_idle_watts == 10.0);
    assert_true(cfg->estimate_active_watts == 15.0);
    assert_true(cfg->calibration_max_cv == 20.0);
    assert_string_equal(cfg->nats_credentials_file, "");
    assert_string_equal(cfg->lease_host, "");
}

static void defaults(void **state)
{
    (void)state;
    jt_config_t cfg;
    memset(&cfg, 0x5a, sizeof cfg);
    load_ok(&cfg);
}

/* Set but empty means unset. */
static void empty_means_default(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof all_vars / sizeof all_vars[0]; i++)
        set(all_vars[i], "");
    jt_config_t cfg;
    load_ok(&cfg);
    assert_defaults(&cfg);
}

static void each_variable_parsed(void **state)
{
    (void)state;
    jt_config_t cfg;
    static const struct {
        const char *text;
        jt_log_level_t level;
    } levels[] = {{"debug", JT_LOG_DEBUG},
                  {"info", JT_LOG_INFO},
                  {"warn", JT_LOG_WARN},
                  {"error", JT_LOG_ERROR}};
    for (size_t i = 0; i < 4; i++) {
        set("JOULETRACE_LOG_LEVEL", levels[i].text);
        load_ok(&cfg);
        assert_int_equal(cfg.log_level, levels[i].level);
    }
    set("JOULETRACE_SANDBOX_DIR", "/var/lib/jouletrace/jobs");
    set("JOULETRACE_SANDBOX_UID_BASE", "70000");
    set("JOULETRACE_SANDBOX_SLOTS", "8");
    set("JOULETRACE_VALIDATE_CORE", "3");
    set("JOULETRACE_RUNNER", "/opt/jt/bin/jouletrace-runner");
    set("JOULETRACE_OUTPUT_LIMIT_BYTES", "131072");
    set("JOULETRACE_VALIDATION_BUDGET_SECONDS", "2.5");
    set("JOULETRACE_POWERCAP_ROOT", "/tmp/fake-powercap");
    set("JOULETRACE_SOCKET", "1");
    set("JOULETRACE_MEASURE_CORE", "6");
    set("JOULETRACE_CALIBRATION", "/etc/jt/cal.json");
    set("JOULETRACE_SAMPLE_HZ", "250.5");
    set("JOULETRACE_ESTIMATE_IDLE_WATTS", "7.5");
    set("JOULETRACE_ESTIMATE_ACTIVE_WATTS", "12");
    set("JOULETRACE_CALIBRATION_MAX_CV_PERCENT", "5");
    set("JOULETRACE_NATS_CREDENTIALS_FILE", "/etc/jouletrace/nats-service.credentials");
    set("JOULETRACE_LEASE_HOST", "rack4-node_07.example.org");
    load_ok(&cfg);
    assert_string_equal(cfg.lease_host, "rack4-node_07.example.org");
    assert_string_equal(cfg.nats_credentials_file, "/etc/jouletrace/nats-service.credentials");
    assert_int_equal(cfg.log_level, JT_LOG_ERROR);
    assert_string_equal(cfg.sandbox_dir, "/var/lib/jouletrace/jobs");
    assert_int_equal(cfg.sandbox_uid_base, 70000);
    assert_int_equal(cfg.sandbox_slots, 8);
    assert_int_equal(cfg.validate_core, 3);
    assert_string_equal(cfg.runner_path, "/opt/jt/bin/jouletrace-runner");
    assert_int_equal(cfg.output_limit_bytes, 131072);
    assert_true(cfg.validation_budget_seconds == 2.5);
    assert_string_equal(cfg.powercap_root, "/tmp/fake-powercap");
    assert_int_equal(cfg.socket, 1);
    assert_int_equal(cfg.measure_core, 6);
    assert_string_equal(cfg.calibration_path, "/etc/jt/cal.json");
    assert_true(cfg.sample_hz == 250.5);
    assert_true(cfg.estimate_idle_watts == 7.5);
    assert_true(cfg.estimate_active_watts == 12.0);
    assert_true(cfg.calibration_max_cv == 5.0);
    static const char *const meters[] = {"auto", "rapl-sysfs", "rapl-perf", "estimate"};
    for (size_t i = 0; i < 4; i++) {
        set("JOULETRACE_METER", meters[i]);
        load_ok(&cfg);
        assert_string_equal(cfg.meter, meters[i]);
    }
}

/* The edges of every range are accepted. */
static void boundaries_accepted(void **state)
{
    (void)state;
    jt_config_t cfg;
    set("JOULETRACE_SANDBOX_DIR", repeat('d', 255));
    load_ok(&cfg);
    assert_int_equal(strlen(cfg.sandbox_dir), 255);
    set("JOULETRACE_SANDBOX_SLOTS", "4096");
    set("JOULETRACE_SANDBOX_UID_BASE", "1999991808"); /* the last box ends below 2e9 */
    load_ok(&cfg);
    assert_int_equal(cfg.sandbox_slots, 4096);
    assert_int_equal(cfg.sandbox_uid_base, 1999991808);
    set("JOULETRACE_SANDBOX_SLOTS", "1");
    set("JOULETRACE_SANDBOX_UID_BASE", "1000");
    load_ok(&cfg);
    assert_int_equal(cfg.sandbox_slots, 1);
    assert_int_equal(cfg.sandbox_uid_base, 1000);
    set("JOULETRACE_RUNNER", repeat('r', 511));
    load_ok(&cfg);
    assert_int_equal(strlen(cfg.runner_path), 511);
    set("JOULETRACE_LEASE_HOST", repeat('h', JT_LEASE_HOST_MAX));
    load_ok(&cfg);
    assert_int_equal(strlen(cfg.lease_host), JT_LEASE_HOST_MAX);
    set("JOULETRACE_LEASE_HOST", "h");
    load_ok(&cfg);
    assert_string_equal(cfg.lease_host, "h");
    set("JOULETRACE_VALIDATE_CORE", "4095");
    set("JOULETRACE_OUTPUT_LIMIT_BYTES", "1024");
    set("JOULETRACE_VALIDATION_BUDGET_SECONDS", "1");
    load_ok(&cfg);
    assert_int_equal(cfg.validate_core, 4095);
    assert_int_equal(cfg.output_limit_bytes, 1024);
    assert_true(cfg.validation_budget_seconds == 1.0);
    set("JOULETRACE_VALIDATE_CORE", "0");
    set("JOULETRACE_OUTPUT_LIMIT_BYTES", "16777216");
    set("JOULETRACE_VALIDATION_BUDGET_SECONDS", "86400");
    load_ok(&cfg);
    assert_int_equal(cfg.validate_core, 0);
    assert_int_equal(cfg.output_limit_bytes, 16777216);
    assert_true(cfg.validation_budget_seconds == 86400.0);

    set("JOULETRACE_POWERCAP_ROOT", repeat('p', 255));
    set("JOULETRACE_CALIBRATION", repeat('c', 255));
    set("JOULETRACE_SOCKET", "255");
    set("JOULETRACE_MEASURE_CORE", "4095");
    set("JOULETRACE_SAMPLE_HZ", "10000");
    set("JOULETRACE_ESTIMATE_IDLE_WATTS", "10000");
    set("JOULETRACE_ESTIMATE_ACTIVE_WATTS", "10000");
    set("JOULETRACE_CALIBRATION_MAX_CV_PERCENT", "1000");
    load_ok(&cfg);
    assert_int_equal(strlen(cfg.powercap_root), 255);
    assert_int_equal(strlen(cfg.calibration_path), 255);
    assert_int_equal(cfg.socket, 255);
    assert_int_equal(cfg.measure_core, 4095);
    assert_true(cfg.sample_hz == 10000.0);
    assert_true(cfg.estimate_idle_watts == 10000.0);
    assert_true(cfg.estimate_active_watts == 10000.0);
    assert_true(cfg.calibration_max_cv == 1000.0);
    set("JOULETRACE_SOCKET", "0");
    set("JOULETRACE_MEASURE_CORE", "-1");
    set("JOULETRACE_SAMPLE_HZ", "1");
    set("JOULETRACE_ESTIMATE_IDLE_WATTS", "0");
    set("JOULETRACE_ESTIMATE_ACTIVE_WATTS", "0");
    set("JOULETRACE_CALIBRATION_MAX_CV_PERCENT", "0.1");
    load_ok(&cfg);
    assert_int_equal(cfg.socket, 0);
    assert_int_equal(cfg.measure_core, -1);
    assert_true(cfg.sample_hz == 1.0);
    assert_true(cfg.estimate_idle_watts == 0.0);
    assert_true(cfg.estimate_active_watts == 0.0);
    assert_true(cfg.calibration_max_cv == 0.1);
}

static void invalid_values(void **state)
{
    (void)state;
    char long_dir[257], long_runner[513], long_meter[17], long_creds[513];
    char long_host[JT_LEASE_HOST_MAX + 2];
    memcpy(long_host, repeat('h', JT_LEASE_HOST_MAX + 1), sizeof long_host);
    memcpy(long_dir, repeat('d', 256), sizeof long_dir);
    memcpy(long_creds, repeat('c', 512), sizeof long_creds);
    memcpy(long_runner, repeat('r', 512), sizeof long_runner);
    memcpy(long_meter, repeat('m', 16), sizeof long_meter);
    const struct {
        const char *var;
        const char *value;
    } rows[] = {
        {"JOULETRACE_LOG_LEVEL", "verbose"},
        {"JOULETRACE_LOG_LEVEL", "INFO"},
        {"JOULETRACE_LOG_LEVEL", "info "},
        {"JOULETRACE_LOG_LEVEL", "warning"},
        {"JOULETRACE_SANDBOX_DIR", long_dir},
        {"JOULETRACE_NATS_CREDENTIALS_FILE", long_creds},
        {"JOULETRACE_SANDBOX_UID_BASE", "999"},
        {"JOULETRACE_SANDBOX_UID_BASE", "0"},
        {"JOULETRACE_SANDBOX_UID_BASE", "1999999937"},
        {"JOULETRACE_SANDBOX_SLOTS", "0"},
        {"JOULETRACE_SANDBOX_SLOTS", "4097"},
        {"JOULETRACE_RUNNER", long_runner},
        {"JOULETRACE_VALIDATE_CORE", "-1"},
        {"JOULETRACE_VALIDATE_CORE", "4096"},
        {"JOULETRACE_VALIDATE_CORE", "abc"},
        {"JOULETRACE_VALIDATE_CORE", "3x"},
        {"JOULETRACE_VALIDATE_CORE", "1.5"},
        {"JOULETRACE_VALIDATE_CORE", "0x10"},
        {"JOULETRACE_VALIDATE_CORE", "99999999999999999999999"},
        {"JOULETRACE_OUTPUT_LIMIT_BYTES", "1023"},
        {"JOULETRACE_OUTPUT_LIMIT_BYTES", "16777217"},
        {"JOULETRACE_OUTPUT_LIMIT_BYTES", "64k"},
        {"JOULETRACE_OUTPUT_LIMIT_BYTES", "-65536"},
        {"JOULETRACE_VALIDATION_BUDGET_SECONDS", "0.5"},
        {"JOULETRACE_VALIDATION_BUDGET_SECONDS", "0"},
        {"JOULETRACE_VALIDATION_BUDGET_SECONDS", "-10"},
        {"JOULETRACE_VALIDATION_BUDGET_SECONDS", "86400.5"},
        {"JOULETRACE_VALIDATION_BUDGET_SECONDS", "nan"},
        {"JOULETRACE_VALIDATION_BUDGET_SECONDS", "inf"},
        {"JOULETRACE_VALIDATION_BUDGET_SECONDS", "1e400"},
        {"JOULETRACE_VALIDATION_BUDGET_SECONDS", "10s"},
        {"JOULETRACE_VALIDATION_BUDGET_SECONDS", "ten"},
        {"JOULETRACE_METER", "rapl"},
        {"JOULETRACE_METER", "AUTO"},
        {"JOULETRACE_METER", long_meter},
        {"JOULETRACE_POWERCAP_ROOT", long_dir},
        {"JOULETRACE_CALIBRATION", long_dir},
        {"JOULETRACE_SOCKET", "-1"},
        {"JOULETRACE_SOCKET", "256"},
        {"JOULETRACE_SOCKET", "one"},
        {"JOULETRACE_MEASURE_CORE", "-2"},
        {"JOULETRACE_MEASURE_CORE", "4096"},
        {"JOULETRACE_SAMPLE_HZ", "0.5"},
        {"JOULETRACE_SAMPLE_HZ", "10001"},
        {"JOULETRACE_SAMPLE_HZ", "100Hz"},
        {"JOULETRACE_ESTIMATE_IDLE_WATTS", "-1"},
        {"JOULETRACE_ESTIMATE_IDLE_WATTS", "nan"},
        {"JOULETRACE_ESTIMATE_ACTIVE_WATTS", "10000.5"},
        {"JOULETRACE_CALIBRATION_MAX_CV_PERCENT", "0.05"},
        {"JOULETRACE_CALIBRATION_MAX_CV_PERCENT", "1001"},
        {"JOULETRACE_LEASE_HOST", long_host},
        {"JOULETRACE_LEASE_HOST", "two words"},
        {"JOULETRACE_LEASE_HOST", " node1"},
        {"JOULETRACE_LEASE_HOST", "node1\n"},
        {"JOULETRACE_LEASE_HOST", "-node1"},
        {"JOULETRACE_LEASE_HOST", ".node1"},
        {"JOULETRACE_LEASE_HOST", "node/1"},
        {"JOULETRACE_LEASE_HOST", "node*"},
        {"JOULETRACE_LEASE_HOST", "caf\xc3\xa9"},
    };
    int failures = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        clear_env(NULL);
        set(rows[i].var, rows[i].value);
        jt_config_t cfg;
        jt_error_t err;
        memset(&err, 0, sizeof err);
        jt_status_t s = jt_config_load(&cfg, &err);
        if (s != JT_ERR_CONFIG || err.code != JT_ERR_CONFIG || strcmp(err.path, rows[i].var) != 0 ||
            strstr(err.message, rows[i].var) == NULL) {
            print_error("%s=%.40s: got status %s, path \"%s\", message \"%s\"\n", rows[i].var,
                        rows[i].value, jt_status_name(s), err.path, err.message);
            failures++;
        }
        /* A NULL error is allowed too. */
        if (jt_config_load(&cfg, NULL) != JT_ERR_CONFIG) {
            print_error("%s=%.40s: not refused with err == NULL\n", rows[i].var, rows[i].value);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* After an error, fields not yet read hold their defaults. */
static void error_leaves_defaults(void **state)
{
    (void)state;
    set("JOULETRACE_LOG_LEVEL", "loud"); /* read first */
    set("JOULETRACE_SANDBOX_DIR", "/elsewhere");
    set("JOULETRACE_OUTPUT_LIMIT_BYTES", "4096");
    jt_config_t cfg;
    jt_error_t err;
    assert_int_equal(jt_config_load(&cfg, &err), JT_ERR_CONFIG);
    assert_string_equal(err.path, "JOULETRACE_LOG_LEVEL");
    assert_string_equal(cfg.sandbox_dir, "/tmp");
    assert_int_equal(cfg.output_limit_bytes, 65536);
    assert_true(cfg.validation_budget_seconds == 600.0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup(defaults, clear_env),
    cmocka_unit_test_setup(empty_means_default, clear_env),
    cmocka_unit_test_setup(each_variable_parsed, clear_env),
    cmocka_unit_test_setup(boundaries_accepted, clear_env),
    cmocka_unit_test_setup(invalid_values, clear_env),
    cmocka_unit_test_setup(error_leaves_defaults, clear_env),
};

JT_UNIT_MAIN(tests)
