/* trial_usage.h -- the kernel's account of a trial's runs: CPU time and peak memory in trial_end.
 *
 * The sandbox child sums, over the runs of one trial, the struct rusage that
 * wait4(2) returns for each run, and sends it as the "usage" map of its
 * trial_end frame: {"user_us": U, "system_us": S, "max_rss_kb": M, "runs": N}
 * (docs/protocol.md). The numbers come from the kernel, never from the
 * candidate: a run cannot fork (the run seccomp filter), so its rusage is all
 * the work it did. The worker decodes the map with jt_trial_usage_decode and
 * must live with its absence (an older runner sends none). Pure functions;
 * any thread.
 */
#ifndef JT_TRIAL_USAGE_H
#define JT_TRIAL_USAGE_H

#include <jansson.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>

typedef struct {
    bool present;        /* false: the frame had no (valid) usage map */
    uint64_t user_us;    /* sum of ru_utime over the runs, microseconds */
    uint64_t system_us;  /* sum of ru_stime over the runs, microseconds */
    uint64_t max_rss_kb; /* largest ru_maxrss of one run, KiB (includes the pages a run
                            inherits from its supervisor at fork) */
    uint64_t runs;       /* runs reaped in the trial (a failed trial may have fewer than asked) */
} jt_trial_usage_t;

/* Add one reaped run's rusage to *u (sums user and system time, keeps the
 * largest max_rss, counts the run) and mark it present. Negative fields of
 * ru count as 0; sums saturate at UINT64_MAX. */
void jt_trial_usage_add(jt_trial_usage_t *u, const struct rusage *ru);

/* Pack u as the 4-key map of docs/protocol.md (the value of "usage"; the
 * caller packs the key). Returns 0, or -1 when msgpack failed to write. */
int jt_trial_usage_pack(msgpack_packer *pk, const jt_trial_usage_t *u);

/* Decode the value of a trial_end frame's "usage" key (NULL when the frame
 * has none). Returns true with *out filled and present set; false, with *out
 * zeroed (present false), when usage is NULL, not a map, or any of the four
 * keys is missing or not a non-negative integer. Unknown keys are ignored. */
bool jt_trial_usage_decode(const msgpack_object *usage, jt_trial_usage_t *out);

/* The JSON form, {"user_us", "system_us", "max_rss_kb", "runs"} as integers,
 * or json_null() when u is not present. New reference (NULL on no memory). */
json_t *jt_trial_usage_json(const jt_trial_usage_t *u);

#endif
