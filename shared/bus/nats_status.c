/* nats_status.c -- the one mapping of nats.c statuses to JouleTrace statuses and messages. */
#include "nats_status.h"

#include <stdio.h>
#include <string.h>

jt_status_t jt_nats_status(natsStatus s)
{
    switch (s) {
    case NATS_OK:
        return JT_OK;
    case NATS_TIMEOUT:
        return JT_ERR_TIMEOUT;
    case NATS_NO_MEMORY:
        return JT_ERR_NOMEM;
    default:
        return JT_ERR_IO;
    }
}

const char *jt_nats_describe(natsStatus s, char *buf, size_t len)
{
    natsStatus last_status = NATS_OK;
    const char *last = nats_GetLastError(&last_status);
    const char *text = natsStatus_GetText(s);
    if (buf == NULL || len == 0)
        return buf;
    if (last != NULL && last[0] == '(' && strstr(last, "): ") != NULL)
        last = strstr(last, "): ") + 3; /* drop nats.c's "(file.c:line): " */
    /* The thread's last error text belongs to this failure only if the codes agree. */
    if (last != NULL && last_status == s && last[0] != '\0' && strcmp(last, text) != 0)
        snprintf(buf, len, "%s: %s", text, last);
    else
        snprintf(buf, len, "%s", text);
    return buf;
}
