/* bus_record.h -- the next msgpack record on a NATS subscription, as JSON. */
#ifndef JT_TESTS_BUS_RECORD_H
#define JT_TESTS_BUS_RECORD_H

#include <jansson.h>
#include <nats/nats.h>

/* Next record published on sub (progress or result: one msgpack map) as JSON, a new reference;
 * NULL when nothing arrives within `seconds`. A message that is not a msgpack value gives the
 * JSON string "undecodable", so a test sees it instead of mistaking it for a timeout. */
json_t *jt_bus_record_next(natsSubscription *sub, double seconds);

#endif
