/* fuzz_job_json.c -- libFuzzer target: jt_job_from_json on arbitrary bytes, with invariants. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_check.h"
#include "job_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    jt_job_t job;
    jt_error_t err;
    jt_job_init(&job);
    memset(&err, 0, sizeof err);
    jt_status_t st = jt_job_from_json(&job, (const char *)data, size, &err);
    if (st == JT_OK)
        fuzz_check_job(&job, true);
    else
        fuzz_check_failure(st, &err, &job);
    jt_job_cleanup(&job);
    return 0;
}
