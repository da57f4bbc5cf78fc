/* runner_command.h -- the runner's "validate"/"measure" command, decoded for the sandbox child. */
#ifndef JT_RUNNER_COMMAND_H
#define JT_RUNNER_COMMAND_H

#include <msgpack.h>
#include <stdbool.h>

#include "config.h"
#include "sandbox_gate.h"

typedef struct {
    bool measure;          /* "measure": trials; else "validate": the gate */
    bool same_process;     /* repetition_mode "same_process" */
    jt_gate_spec_t spec;   /* points into the fields below */
    jt_blob_t *inputs;
    char *code;
    char *function_name;
    char *task_id;         /* optional, for logs */
    long long memory_limit_mb;
    long long core;        /* -1: any */
} jt_runner_command_t;

/* Decode a command map {"op", "code", "function_name", "inputs", "timeout_seconds",
 * "memory_limit_mb", "core", "stop_on_first_failure", "same_process",
 * "task_id"} into *c (limits from cfg). Returns NULL, or a static reason the
 * command is malformed (then call jt_runner_command_cleanup). */
const char *jt_runner_command_decode(const msgpack_object *cmd, const jt_config_t *cfg,
                                  jt_runner_command_t *c);

/* Zero and free what *c owns (code and inputs leave no trace in freed memory). */
void jt_runner_command_cleanup(jt_runner_command_t *c);

#endif
