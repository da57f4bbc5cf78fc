/* status.h -- the one status/error enum of libjouletrace, with its text table. */
#ifndef JT_STATUS_H
#define JT_STATUS_H

typedef enum {
    JT_OK = 0,
    JT_ERR_NOMEM,        /* allocation failed */
    JT_ERR_INVALID,      /* input is malformed or has a wrong type / value */
    JT_ERR_MISSING,      /* a required field is absent */
    JT_ERR_UNKNOWN_FIELD,/* a field that the schema does not know */
    JT_ERR_TOO_LARGE,    /* input exceeds one of the documented bounds */
    JT_ERR_TOO_DEEP,     /* nesting deeper than JT_MAX_DEPTH */
    JT_ERR_TRUNCATED,    /* input ends before a complete value */
    JT_ERR_TRAILING,     /* bytes after a complete value */
    JT_ERR_IO,           /* read/write on a file or pipe failed */
    JT_ERR_EOF,          /* peer closed the stream */
    JT_ERR_PROTOCOL,     /* a peer sent a frame that breaks the protocol */
    JT_ERR_TIMEOUT,      /* a deadline passed */
    JT_ERR_SANDBOX,      /* the sandbox could not be set up or died unexpectedly */
    JT_ERR_SYSTEM,       /* an operating-system call failed (see errno in the message) */
    JT_ERR_CONFIG,       /* a JOULETRACE_* setting is invalid */
    JT_ERR_EXISTS,       /* the thing to create exists already */
    JT_STATUS_COUNT
} jt_status_t;

/* Stable snake_case name of a status ("ok", "invalid", ...); never NULL. */
const char *jt_status_name(jt_status_t s);

/* Human-readable one-line description of a status; never NULL. */
const char *jt_status_text(jt_status_t s);

/* An error with context: which field (JSON-pointer-like path, e.g.
 * "test_cases[3].inputs") and a message for people. Caller storage. */
typedef struct {
    jt_status_t code;
    char path[256];
    char message[512];
} jt_error_t;

/* Fill *err (when not NULL) and return code. printf-style message. */
jt_status_t jt_error_set(jt_error_t *err, jt_status_t code, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
