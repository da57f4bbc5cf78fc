/* hostile_job.c -- the sandbox tests' jobs: candidates and their test cases, as JSON. */
#include "hostile_job.h"

#include <stdio.h>
#include <stdlib.h>

const char *hostile_candidates(void)
{
    static char buf[256 << 10];
    FILE *f = fopen(JT_HOSTILE_DIR "/candidates.py", "rb");
    if (!f) {
        perror(JT_HOSTILE_DIR "/candidates.py");
        exit(1);
    }
    buf[fread(buf, 1, sizeof buf - 1, f)] = '\0';
    fclose(f);
    return buf;
}

json_t *hostile_job_new(const char *code, const char *function_name, int timeout, int memory_mb)
{
    json_t *job = json_pack("{s:s, s:[], s:i, s:i, s:b}", "candidate_code", code, "test_cases",
                            "timeout_seconds", timeout, "memory_limit_mb", memory_mb,
                            "stop_on_first_failure", 0);
    if (job && function_name)
        json_object_set_new(job, "function_name", json_string(function_name));
    return job;
}

void hostile_job_add(json_t *job, const char *id, json_t *inputs, json_t *expected)
{
    json_array_append_new(
        json_object_get(job, "test_cases"),
        json_pack("{s:s, s:o, s:o}", "test_id", id, "inputs", inputs, "expected_output", expected));
}

void hostile_job_add_call(json_t *job, const hostile_t *h, int port)
{
    json_t *arg = h->arg == ARG_PORT   ? json_integer(port)
                  : h->arg == ARG_FILE ? json_string(BIG_FILE)
                                       : json_null();
    hostile_job_add(job, h->kind, json_pack("[s, o]", h->kind, arg),
                    json_string(h->expected ? h->expected : "never returned"));
}
