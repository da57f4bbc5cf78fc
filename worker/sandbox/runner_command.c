/* runner_command.c -- decode the runner's validate/measure command (see runner_command.h). */
#include "runner_command.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"

/* Zero a string before freeing it: a job's bytes never linger in freed memory
 * that the next sandbox child (a fork of this process) would inherit. */
static void wipe_string(char *s)
{
    if (s != NULL)
        explicit_bzero(s, strlen(s));
    free(s);
}

void jt_runner_command_cleanup(jt_runner_command_t *g)
{
    for (size_t i = 0; i < g->spec.n_inputs; i++) {
        if (g->inputs[i].data != NULL)
            explicit_bzero(g->inputs[i].data, g->inputs[i].len);
        jt_blob_free(&g->inputs[i]);
    }
    free(g->inputs);
    wipe_string(g->code);
    wipe_string(g->function_name);
    wipe_string(g->task_id);
    memset(g, 0, sizeof *g);
}

const char *jt_runner_command_decode(const msgpack_object *cmd, const jt_config_t *cfg,
                                  jt_runner_command_t *g)
{
    memset(g, 0, sizeof *g);
    const msgpack_object *inputs = jt_mp_find(cmd, "inputs");
    double timeout;
    g->code = jt_mp_strdup(jt_mp_find(cmd, "code"));
    g->function_name = jt_mp_strdup(jt_mp_find(cmd, "function_name"));
    g->task_id = jt_mp_strdup(jt_mp_find(cmd, "task_id")); /* optional */
    if (g->code == NULL || g->function_name == NULL)
        return "code and function_name must be strings";
    if (strlen(g->code) != jt_mp_find(cmd, "code")->via.str.size)
        return "code contains a NUL byte";
    if (inputs == NULL || inputs->type != MSGPACK_OBJECT_ARRAY || inputs->via.array.size == 0 ||
        inputs->via.array.size > JT_MAX_TEST_CASES)
        return "inputs must be a non-empty array of at most 1000 values";
    if (!jt_mp_number(jt_mp_find(cmd, "timeout_seconds"), &timeout) ||
        !(timeout >= JT_MIN_TIMEOUT_SECONDS && timeout <= JT_MAX_TIMEOUT_SECONDS))
        return "timeout_seconds out of range";
    if (!jt_mp_int(jt_mp_find(cmd, "memory_limit_mb"), &g->memory_limit_mb) ||
        g->memory_limit_mb < JT_MIN_MEMORY_LIMIT_MB || g->memory_limit_mb > JT_MAX_MEMORY_LIMIT_MB)
        return "memory_limit_mb out of range";
    if (!jt_mp_int(jt_mp_find(cmd, "core"), &g->core) || g->core < -1 || g->core >= CPU_SETSIZE)
        return "core out of range";
    const msgpack_object *stop = jt_mp_find(cmd, "stop_on_first_failure");
    const msgpack_object *same = jt_mp_find(cmd, "same_process");
    g->measure = jt_mp_str_eq(jt_mp_find(cmd, "op"), "measure");
    g->same_process = same != NULL && same->type == MSGPACK_OBJECT_BOOLEAN && same->via.boolean;
    g->inputs = calloc(inputs->via.array.size, sizeof *g->inputs);
    if (g->inputs == NULL)
        return "out of memory";
    for (uint32_t i = 0; i < inputs->via.array.size; i++) {
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_object(&pk, inputs->via.array.ptr[i]);
        g->inputs[i].data = (uint8_t *)sb.data; /* sbuffer memory is malloc'd: the blob owns it */
        g->inputs[i].len = sb.size;
        g->spec.n_inputs = i + 1;
        if (sb.data == NULL)
            return "out of memory";
    }
    g->spec.code = g->code;
    g->spec.function_name = g->function_name;
    g->spec.inputs = g->inputs;
    g->spec.timeout_seconds = timeout;
    g->spec.output_limit_bytes = cfg->output_limit_bytes;
    g->spec.budget_seconds = cfg->validation_budget_seconds;
    g->spec.stop_on_first_failure = stop != NULL && stop->type == MSGPACK_OBJECT_BOOLEAN &&
                                    stop->via.boolean;
    return NULL;
}

