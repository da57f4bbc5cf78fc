/* pipeline_bus.c -- the pipeline tests' own NATS traffic: results read, raw jobs published. */
#include "pipeline_bus.h"

#include "bus_names.h"

natsSubscription *pl_subscribe_results(pl_t *pl)
{
    natsSubscription *results = NULL;
    PL_CHECK(pl, natsConnection_SubscribeSync(&results, pl->bus.nc, JT_SUBJECT_RESULT_PREFIX "*") ==
                     NATS_OK);
    PL_CHECK(pl, natsConnection_Flush(pl->bus.nc) == NATS_OK);
    return results;
}

void pl_publish_job(pl_t *pl, const char *id, const void *data, size_t len)
{
    natsMsg *msg = NULL;
    jsErrCode jerr = 0;
    PL_CHECK(pl, natsMsg_Create(&msg, JT_SUBJECT_JOBS, NULL, data, (int)len) == NATS_OK);
    PL_CHECK(pl, natsMsgHeader_Set(msg, "Nats-Msg-Id", id) == NATS_OK);
    natsStatus s = js_PublishMsg(NULL, pl->bus.js, msg, NULL, &jerr);
    natsMsg_Destroy(msg);
    if (s != NATS_OK)
        pl_fail(pl, "publishing job %s: %s (jerr %d)", id, natsStatus_GetText(s), (int)jerr);
}

uint64_t pl_jobs_last_seq(pl_t *pl)
{
    jsStreamInfo *si = NULL;
    PL_CHECK(pl, js_GetStreamInfo(&si, pl->bus.js, JT_STREAM_JOBS, NULL, NULL) == NATS_OK);
    uint64_t n = si->State.LastSeq;
    jsStreamInfo_Destroy(si);
    return n;
}
