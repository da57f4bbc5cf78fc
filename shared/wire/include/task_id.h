/* task_id.h -- the one task-id rule, shared by the job schema, the gateway, bus subjects and workers.
 *
 * Task ids name KV keys and subject tokens, so they are 1..JT_TASK_ID_MAX
 * characters of [A-Za-z0-9_-]. Pure function; any thread.
 */
#ifndef JT_TASK_ID_H
#define JT_TASK_ID_H

#include <stdbool.h>

#define JT_TASK_ID_MAX 128

/* Whether id is a valid task id (NULL is not). */
bool jt_task_id_valid(const char *id);

#endif
