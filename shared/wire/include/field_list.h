/* field_list.h -- field names joined into a bounded text, for "known fields: ..." messages. */
#ifndef JT_FIELD_LIST_H
#define JT_FIELD_LIST_H

#include <stddef.h>

/* Join names[0..count) with ", " into out (cap bytes). Only whole names are written; when
 * the next name does not fit, the list ends with ", ..." ("..." when no name fits), so
 * a cut list always says so. The text is always NUL-terminated within cap (cap 0 writes
 * nothing; a cap too small even for "..." gives ""). Returns how many names were written. */
size_t jt_field_list(char *out, size_t cap, const char *const *names, size_t count);

#endif
