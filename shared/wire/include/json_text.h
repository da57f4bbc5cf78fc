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

/* Before jansson reads JSON text (it holds integers of 64 bits only): every
 * integer literal outside a string that does not fit int64 becomes the string
 * JT_BIGINT_MARK + its digits (value.h), which jt_value_from_json packs as a
 * plain uint64 or a big integer. *out is NULL when text[0..len) has no such
 * literal (use it as is), else a new text of *out_len bytes (caller frees).
 * Returns 0, or -1 when out of memory. jt_json_dumps writes such strings
 * back as bare integer literals. */
int jt_json_mark_bigints(const char *text, size_t len, char **out, size_t *out_len);

#endif
