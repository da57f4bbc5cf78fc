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
 * integer literal outside a string that does not fit int64 becomes a string
 * of mark_json[0..mark_len) (the mark as escaped JSON text, e.g.
 * "\\u0000jt-int-1f2e...:") followed by its digits, which
 * jt_value_from_json_marked (value.h) packs as a plain uint64 or a big
 * integer. *out is NULL when text[0..len) has no such literal (use it as
 * is), else a new text of *out_len bytes (caller frees). Returns 0, or -1
 * when out of memory. */
int jt_json_mark_bigints(const char *text, size_t len, const char *mark_json, size_t mark_len,
                         char **out, size_t *out_len);

/* Replace every byte of the NUL-terminated s that is not printable ASCII by
 * '?': jansson's error texts may quote input bytes, and an error must stay
 * valid UTF-8 whatever the input held. */
void jt_json_error_text_ascii(char *s);

#endif
