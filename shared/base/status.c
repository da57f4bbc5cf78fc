/* status.c -- names and texts of jt_status_t, and jt_error_t filling. */
#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    const char *text;
} status_table[JT_STATUS_COUNT] = {
    [JT_OK] = {"ok", "success"},
    [JT_ERR_NOMEM] = {"out_of_memory", "out of memory"},
    [JT_ERR_INVALID] = {"invalid", "invalid value"},
    [JT_ERR_MISSING] = {"missing_field", "required field is missing"},
    [JT_ERR_UNKNOWN_FIELD] = {"unknown_field", "unknown field"},
    [JT_ERR_TOO_LARGE] = {"too_large", "value exceeds a size limit"},
    [JT_ERR_TOO_DEEP] = {"too_deep", "value is nested too deeply"},
    [JT_ERR_TRUNCATED] = {"truncated", "input is truncated"},
    [JT_ERR_TRAILING] = {"trailing_bytes", "unexpected bytes after the value"},
    [JT_ERR_IO] = {"io_error", "input/output error"},
    [JT_ERR_EOF] = {"eof", "peer closed the stream"},
    [JT_ERR_PROTOCOL] = {"protocol_error", "protocol violation"},
    [JT_ERR_TIMEOUT] = {"timeout", "deadline exceeded"},
    [JT_ERR_SANDBOX] = {"sandbox_error", "sandbox failure"},
    [JT_ERR_SYSTEM] = {"system_error", "operating-system call failed"},
    [JT_ERR_CONFIG] = {"config_error", "invalid configuration"},
    [JT_ERR_EXISTS] = {"exists", "already exists"},
};

const char *jt_status_name(jt_status_t s)
{
    if ((unsigned)s >= JT_STATUS_COUNT)
        return "unknown_status";
    return status_table[s].name;
}

const char *jt_status_text(jt_status_t s)
{
    if ((unsigned)s >= JT_STATUS_COUNT)
        return "unknown status";
    return status_table[s].text;
}

jt_status_t jt_error_set(jt_error_t *err, jt_status_t code, const char *path, const char *fmt, ...)
{
    if (err == NULL)
        return code;
    err->code = code;
    snprintf(err->path, sizeof err->path, "%s", path ? path : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return code;
}
