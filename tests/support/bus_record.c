/* bus_record.c -- the next msgpack record on a NATS subscription, as JSON. */
#include "bus_record.h"

#include <msgpack.h>

#include "value.h"

json_t *jt_bus_record_next(natsSubscription *sub, double seconds)
{
    natsMsg *msg = NULL;
    if (natsSubscription_NextMsg(&msg, sub, (int64_t)(seconds * 1000)) != NATS_OK)
        return NULL;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    json_t *j = NULL;
    jt_error_t err;
    if (msgpack_unpack_next(&u, natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg), &off) ==
        MSGPACK_UNPACK_SUCCESS)
        j = jt_value_to_json(&u.data, &err);
    msgpack_unpacked_destroy(&u);
    natsMsg_Destroy(msg);
    return j != NULL ? j : json_string("undecodable");
}
