/* task_id.c -- the task-id rule: 1..JT_TASK_ID_MAX characters of [A-Za-z0-9_-]. */
#include "task_id.h"

#include <stddef.h>

bool jt_task_id_valid(const char *id)
{
    if (id == NULL || id[0] == '\0')
        return false;
    size_t n = 0;
    for (const char *p = id; *p != '\0'; p++, n++) {
        char c = *p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
        if (n >= JT_TASK_ID_MAX)
            return false;
    }
    return true;
}
