/* batch_events.c -- GET /api/v1/batches/{id}/events: a batch's records as Server-Sent Events.
 *
 * The stream of sse.h on the batch's two subjects: progress records
 * (JT_SUBJECT_BATCH_PROGRESS_PREFIX<id>) and the final record
 * (JT_SUBJECT_BATCH_RESULT_PREFIX<id>), read with one subscription; the stored record is
 * the first event and the fallback when a message is lost. Runs on the civetweb worker
 * thread of the request.
 */
#include <stdio.h>
#include <string.h>

#include "batch_state.h"
#include "bus_names.h"
#include "gateway.h"
#include "sse.h"

/* Both subjects of one batch match "<root>*.<id>", root being what the two prefixes share
 * up to the token in which they differ ("jouletrace.batch."). */
static bool events_pattern(char *buf, size_t len, const char *batch_id)
{
    static const char progress[] = JT_SUBJECT_BATCH_PROGRESS_PREFIX;
    static const char result[] = JT_SUBJECT_BATCH_RESULT_PREFIX;
    size_t root = 0;
    for (size_t i = 0; progress[i] != '\0' && progress[i] == result[i]; i++) {
        if (progress[i] == '.')
            root = i + 1;
    }
    /* Only a single differing token makes a one-wildcard pattern. */
    if (strchr(progress + root, '.') != progress + sizeof progress - 2 ||
        strchr(result + root, '.') != result + sizeof result - 2)
        return false;
    int n = snprintf(buf, len, "%.*s*.%s", (int)root, progress, batch_id);
    return n > 0 && (size_t)n < len;
}

void jt_route_batch_events(jt_gw_t *gw, jt_req_t *req, const char *batch_id)
{
    char pattern[64 + JT_TASK_ID_MAX], progress[64 + JT_TASK_ID_MAX], result[64 + JT_TASK_ID_MAX];
    snprintf(progress, sizeof progress, "%s%s", JT_SUBJECT_BATCH_PROGRESS_PREFIX, batch_id);
    snprintf(result, sizeof result, "%s%s", JT_SUBJECT_BATCH_RESULT_PREFIX, batch_id);
    if (!events_pattern(pattern, sizeof pattern, batch_id)) {
        /* The subject names no longer share a stem: follow the progress subject alone (the
         * final record is published there too, batch_state.h). */
        snprintf(pattern, sizeof pattern, "%s", progress);
    }
    const jt_sse_source_t src = {
        "batch", batch_id, pattern, {progress, result}, jt_batch_record_get};
    jt_sse_stream(gw, req, &src);
}
