/* main.c -- jouletrace-worker: command-line entry (validate; later: run, measure, calibrate). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "job.h"
#include "job_json.h"
#include "log.h"
#include "runner_client.h"
#include "validation.h"

enum { EXIT_CORRECT = 0, EXIT_INCORRECT = 1, EXIT_BAD_INPUT = 2, EXIT_FAILURE_INTERNAL = 4 };

static void usage(FILE *to)
{
    fprintf(to, "usage: jouletrace-worker validate JOB.json|-\n"
                "  validate  run the correctness gate on a job (REST request body) without NATS;\n"
                "            prints {\"validation\": ..., \"processing_time_seconds\": ...}.\n"
                "            exit 0 correct, 1 incorrect, 2 bad input, 4 sandbox failure\n");
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

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmd_validate(const jt_config_t *cfg, const char *path)
{
    double started = now_seconds();
    size_t len;
    char *body = read_bounded(path, JT_MAX_BODY_BYTES, &len);
    if (body == NULL)
        return EXIT_BAD_INPUT;
    jt_job_t job;
    jt_job_init(&job);
    jt_error_t err;
    jt_status_t s = jt_job_from_json(&job, body, len, &err);
    free(body);
    if (s != JT_OK) {
        fprintf(stderr, "jouletrace-worker: invalid job: %s%s%s\n", err.path,
                err.path[0] ? ": " : "", err.message);
        return EXIT_BAD_INPUT;
    }
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
        json_object_set_new(out, "processing_time_seconds", json_real(now_seconds() - started));
        char *text = json_dumps(out, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
        json_decref(out);
        if (text == NULL) {
            rc = EXIT_FAILURE_INTERNAL;
        } else {
            puts(text);
            free(text);
            rc = v.is_correct ? EXIT_CORRECT : EXIT_INCORRECT;
        }
    }
    jt_validation_cleanup(&v);
    jt_job_cleanup(&job);
    return rc;
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
    if (strcmp(argv[1], "validate") == 0 && argc == 3)
        return cmd_validate(&cfg, argv[2]);
    usage(stderr);
    return EXIT_BAD_INPUT;
}
