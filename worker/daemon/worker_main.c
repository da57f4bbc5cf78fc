/* worker_main.c -- jouletrace-worker: command-line entry (validate, measure, calibrate). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "calibrate.h"
#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "job.h"
#include "job_json.h"
#include "json_text.h"
#include "log.h"
#include "measurer.h"
#include "nats_credentials.h"
#include "runner_client.h"
#include "validation.h"

enum {
    EXIT_CORRECT = 0,
    EXIT_INCORRECT = 1,
    EXIT_BAD_INPUT = 2,
    EXIT_NOT_CALIBRATED = 3,
    EXIT_FAILURE_INTERNAL = 4
};

static void usage(FILE *to)
{
    fprintf(to,
            "usage: jouletrace-worker run\n"
            "       jouletrace-worker validate JOB.json|-\n"
            "       jouletrace-worker measure [--meter KIND] JOB.json|-\n"
            "       jouletrace-worker calibrate [--seconds S] [--out PATH] [--meter KIND]\n"
            "  run        worker daemon: pull jobs from NATS (JOULETRACE_NATS_URL), measure,\n"
            "             answer validate requests; SIGTERM/SIGINT stop it (exit 0)\n"
            "  validate   correctness gate only, without NATS; prints {\"validation\": ...,\n"
            "             \"processing_time_seconds\": ...}; exit 0 correct, 1 incorrect,\n"
            "             2 bad input, 4 sandbox failure\n"
            "  measure    gate + energy trials without NATS; prints the result; exit 0\n"
            "             completed, 1 failed, 2 bad input, 3 not calibrated, 4 internal\n"
            "  calibrate  sample the idle power of the measurement socket (default 30 s) and\n"
            "             write JOULETRACE_CALIBRATION (config/socket0_calibration.json)\n"
            "  KIND: auto, rapl-sysfs, rapl-perf, estimate (default JOULETRACE_METER)\n");
}

/* Read a whole file (or stdin for "-") of at most max bytes. Returns a
 * malloc'd buffer and its length, or NULL with a message on stderr. */
static char *read_bounded(const char *path, size_t max, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "jouletrace-worker: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    bool failed = buf == NULL || ferror(f);
    if (f != stdin)
        fclose(f);
    if (failed) {
        fprintf(stderr, "jouletrace-worker: cannot read %s\n", path);
        free(buf);
        return NULL;
    }
    if (n > max) {
        fprintf(stderr, "jouletrace-worker: %s: body exceeds %zu bytes\n", path, max);
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* Read and parse a job file; false (message printed) on bad input. */
static bool load_job(const char *path, jt_job_t *job)
{
    size_t len;
    char *body = read_bounded(path, JT_MAX_BODY_BYTES, &len);
    if (body == NULL)
        return false;
    jt_error_t err;
    jt_status_t s = jt_job_from_json(job, body, len, &err);
    free(body);
    if (s != JT_OK) {
        fprintf(stderr, "jouletrace-worker: invalid job: %s%s%s\n", err.path,
                err.path[0] ? ": " : "", err.message);
        return false;
    }
    return true;
}

static void print_json(json_t *out)
{
    char *text = jt_json_dumps(out, JSON_INDENT(2));
    if (text != NULL) {
        puts(text);
        free(text);
    }
}

static int cmd_validate(const jt_config_t *cfg, const char *path)
{
    double started = jt_clock_now();
    jt_job_t job;
    jt_job_init(&job);
    if (!load_job(path, &job))
        return EXIT_BAD_INPUT;
    jt_error_t err;
    jt_status_t s;
    jt_runner_t *runner = NULL;
    jt_validation_t v;
    jt_validation_init(&v);
    s = jt_runner_spawn(cfg, &runner, &err);
    if (s == JT_OK)
        s = jt_runner_validate(runner, &job, cfg->validate_core, &v, &err);
    jt_runner_destroy(runner);
    int rc;
    if (s != JT_OK) {
        jt_log(JT_LOG_ERROR, job.task_id, "validation failed: %s", err.message);
        rc = EXIT_FAILURE_INTERNAL;
    } else {
        json_t *out = json_object();
        json_object_set_new(out, "validation", jt_validation_to_json(&v));
        json_object_set_new(out, "processing_time_seconds", json_real(jt_clock_now() - started));
        print_json(out);
        json_decref(out);
        rc = v.is_correct ? EXIT_CORRECT : EXIT_INCORRECT;
    }
    jt_validation_cleanup(&v);
    jt_job_cleanup(&job);
    return rc;
}

static int cmd_measure(const jt_config_t *cfg, const char *meter, const char *path)
{
    double started = jt_clock_now();
    jt_job_t job;
    jt_job_init(&job);
    if (!load_job(path, &job))
        return EXIT_BAD_INPUT;
    jt_error_t err;
    jt_measurer_t *ms = NULL;
    jt_status_t s = jt_measurer_open(cfg, meter, &ms, &err);
    if (s != JT_OK) {
        fprintf(stderr, "jouletrace-worker: %s\n", err.message);
        jt_job_cleanup(&job);
        return s == JT_ERR_CONFIG ? EXIT_NOT_CALIBRATED : EXIT_FAILURE_INTERNAL;
    }
    jt_measurer_keep_off_core(jt_measurer_pick_core(cfg));
    jt_runner_t *runner = NULL;
    jt_measurement_t m;
    jt_measurement_init(&m);
    s = jt_runner_spawn(cfg, &runner, &err);
    if (s == JT_OK)
        s = jt_measurer_process(ms, runner, &job, NULL, NULL, &m, &err);
    jt_runner_destroy(runner);
    jt_measurer_close(ms);
    int rc;
    if (s != JT_OK) {
        jt_log(JT_LOG_ERROR, job.task_id, "measurement failed: %s", err.message);
        rc = EXIT_FAILURE_INTERNAL;
    } else {
        json_t *out = jt_measurement_to_json(&m);
        json_object_set_new(out, "processing_time_seconds", json_real(jt_clock_now() - started));
        print_json(out);
        json_decref(out);
        rc = m.completed ? EXIT_CORRECT : EXIT_INCORRECT;
    }
    jt_measurement_cleanup(&m);
    jt_job_cleanup(&job);
    return rc;
}

static int cmd_calibrate(const jt_config_t *cfg, double seconds, const char *meter,
                         const char *out_path)
{
    jt_calibration_t c;
    jt_error_t err;
    jt_status_t s = jt_calibrate(cfg, meter, seconds, out_path, &c, &err);
    if (s != JT_OK) {
        fprintf(stderr, "jouletrace-worker: calibration not written: %s\n", err.message);
        return s == JT_ERR_INVALID || s == JT_ERR_CONFIG ? EXIT_BAD_INPUT : EXIT_FAILURE_INTERNAL;
    }
    fprintf(stderr,
            "jouletrace-worker: calibrated socket %d with %s: idle package %.3f W (CV %.2f%%, "
            "%ld samples) -> %s\n",
            c.socket_id, c.meter_type, c.idle_power_watts, c.cv_percent, c.samples,
            out_path ? out_path : cfg->calibration_path);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_BAD_INPUT : 0;
    }
    jt_config_t cfg;
    jt_error_t err;
    if (jt_config_load(&cfg, &err) != JT_OK) {
        fprintf(stderr, "jouletrace-worker: %s\n", err.message);
        return EXIT_BAD_INPUT;
    }
    jt_log_setup("worker", cfg.log_level);
    if (strcmp(argv[1], "run") == 0 && argc == 2) {
        /* A refused credentials file stops the start at once (the connection reads it again). */
        jt_nats_credentials_t creds;
        jt_status_t checked =
            jt_nats_auth_prepare(cfg.nats_url, cfg.nats_credentials_file, &creds, &err);
        jt_nats_credentials_wipe(&creds);
        if (checked != JT_OK) {
            jt_log_error("configuration: %s", err.message);
            return EXIT_BAD_INPUT;
        }
        return jt_daemon_run(&cfg);
    }
    if (strcmp(argv[1], "validate") == 0 && argc == 3)
        return cmd_validate(&cfg, argv[2]);
    const char *meter = NULL, *out_path = NULL, *job_path = NULL;
    double seconds = 30.0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--meter") == 0 && i + 1 < argc)
            meter = argv[++i];
        else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out_path = argv[++i];
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (job_path == NULL && (argv[i][0] != '-' || strcmp(argv[i], "-") == 0))
            job_path = argv[i];
        else {
            usage(stderr);
            return EXIT_BAD_INPUT;
        }
    }
    if (strcmp(argv[1], "measure") == 0 && job_path != NULL && out_path == NULL)
        return cmd_measure(&cfg, meter, job_path);
    if (strcmp(argv[1], "calibrate") == 0 && job_path == NULL)
        return cmd_calibrate(&cfg, seconds, meter, out_path);
    usage(stderr);
    return EXIT_BAD_INPUT;
}
