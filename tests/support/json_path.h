/* json_path.h -- reading a value out of a JSON answer: by dotted path (any, or a number), or a
 * string member. */
#ifndef JT_TESTS_JSON_PATH_H
#define JT_TESTS_JSON_PATH_H

#include <jansson.h>

/* The value at a dotted path under root ("a.b.0.c": numbers index arrays), NULL when absent
 * (root NULL allowed). Paths are at most 255 characters. */
json_t *jt_json_at(const json_t *root, const char *path);

/* The number at a dotted path under root (as jt_json_at), NAN when absent or not a number. */
double jt_json_number_at(const json_t *root, const char *path);

/* The string member key of o, "" when absent or not a string (o NULL allowed). */
const char *jt_json_str(const json_t *o, const char *key);

#endif
