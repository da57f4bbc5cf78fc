/* json_path.c -- reading a value out of a JSON answer: by dotted path (any, or a number), or a
 * string member. */
#include "json_path.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *jt_json_at(const json_t *root, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = (json_t *)root;
    char *save = NULL;
    for (char *k = strtok_r(buf, ".", &save); k != NULL && cur != NULL;
         k = strtok_r(NULL, ".", &save))
        cur = json_is_array(cur) ? json_array_get(cur, strtoul(k, NULL, 10))
                                 : json_object_get(cur, k);
    return cur;
}

double jt_json_number_at(const json_t *root, const char *path)
{
    json_t *v = jt_json_at(root, path);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

const char *jt_json_str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL ? s : "";
}
