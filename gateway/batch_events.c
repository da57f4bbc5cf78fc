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

void jt_route_batch_events(jt_gw_t *gw, jt_req_t *req, const char *batch_id)
{
    char pattern[64 + JT_TASK_ID_MAX], progress[64 + JT_TASK_ID_MAX], result[64 + JT_TASK_ID_MAX];
    snprintf(progress, sizeof progress, "%s%s", JT_SUBJECT_BATCH_PROGRESS_PREFIX, batch_id);
    snprintf(result, sizeof result, "%s%s", JT_SUBJECT_BATCH_RESULT_PREFIX, batch_id);
    snprintf(pattern, sizeof pattern, "%s%s", JT_SUBJECT_BATCH_EVENTS_PREFIX, batch_id);
    const jt_sse_source_t src = {
        "batch", batch_id, pattern, {progress, result}, jt_batch_record_get};
    jt_sse_stream(gw, req, &src);
}
