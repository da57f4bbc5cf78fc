/* json_text.h -- JSON text whose reals are the shortest decimals that read back exactly. */
#ifndef JT_JSON_TEXT_H
#define JT_JSON_TEXT_H

#include <jansson.h>
#include <stddef.h>

/* json_dumps(json, flags) with full precision, then every real number
 * rewritten as the shortest text that strtod() reads back to the same double
 * (0.1 + 0.2 as 0.30000000000000004, 0.3 as 0.3, a UTC timestamp with all
 * its digits), keeping a ".0" so that a real stays a real. flags must not
 * hold JSON_REAL_PRECISION. Strings are never touched. Returns a new string
 * (caller frees), or NULL when out of memory or json_dumps fails. */
char *jt_json_dumps(const json_t *json, size_t flags);

#endif
