/* private_file.h -- secrets read from files that only their owner may access (chmod 600).
 *
 * Secrets come from files, never from URLs or the environment (docs/security.md). Such a file
 * must be a regular file that neither its group nor others may read, write or execute; anything
 * else is refused with an error that names the setting, the file and the fix, never the content.
 * Any thread; caller storage only.
 */
#ifndef JT_PRIVATE_FILE_H
#define JT_PRIVATE_FILE_H

#include <stddef.h>

#include "status.h"

/* Read the file at path (named by the setting `setting`, e.g. "JOULETRACE_CALLBACK_SECRET_FILE";
 * `what` names its content in messages, e.g. "the webhook signing secret") into buf: at most cap
 * bytes, *len the count. JT_ERR_CONFIG (err->path = setting) when it cannot be opened or read, is
 * not a regular file (a FIFO never blocks the call), is accessible to group or others, or holds
 * more than cap bytes; buf is then wiped. */
jt_status_t jt_private_file_read(const char *path, const char *setting, const char *what, void *buf,
                                 size_t cap, size_t *len, jt_error_t *err);

#endif
