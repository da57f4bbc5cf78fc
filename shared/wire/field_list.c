/* field_list.c -- field names joined with ", " into a fixed buffer that never overflows. */
#include "field_list.h"

#include <string.h>

#define SEPARATOR ", "
#define ELLIPSIS "..."

/* Append text (len bytes) at out + *used; the caller has checked that it fits. */
static void append(char *out, size_t *used, const char *text, size_t len)
{
    memcpy(out + *used, text, len);
    *used += len;
    out[*used] = '\0';
}

size_t jt_field_list(char *out, size_t cap, const char *const *names, size_t count)
{
    if (cap == 0)
        return 0;
    const size_t sep_len = strlen(SEPARATOR), ell_len = strlen(ELLIPSIS);
    size_t room = cap - 1; /* bytes of text that fit before the NUL */
    size_t used = 0, written = 0;
    out[0] = '\0';
    for (; written < count; written++) {
        size_t sep = written ? sep_len : 0;
        size_t len = strlen(names[written]);
        /* A name that is not the last keeps room for the ", ..." that may follow it. */
        size_t tail = written + 1 < count ? sep_len + ell_len : 0;
        if (sep + len > room - used || tail > room - used - sep - len)
            break;
        if (sep)
            append(out, &used, SEPARATOR, sep);
        append(out, &used, names[written], len);
    }
    if (written < count) {
        if (written > 0)
            append(out, &used, SEPARATOR, sep_len);
        if (ell_len <= room - used)
            append(out, &used, ELLIPSIS, ell_len);
    }
    return written;
}
