/* nats_auth.c -- a nats-server with the users scripts/up generates (service, client). */
#include "nats_auth.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "temp_dir.h"

/* bash -c '. scripts/lib.sh; jt_nats_auth_write' with JOULETRACE_VAR_DIR = a->dir. */
static int generate(jt_nats_auth_t *a, const char *repo_root)
{
    char var_env[192], root_env[600], log[192];
    if (snprintf(var_env, sizeof var_env, "JOULETRACE_VAR_DIR=%s", a->dir) >= (int)sizeof var_env ||
        snprintf(root_env, sizeof root_env, "JT_ROOT=%s", repo_root) >= (int)sizeof root_env)
        return -1;
    snprintf(log, sizeof log, "%s/generate.log", a->dir);
    char *argv[] = {"/bin/bash", "-c", ". \"$JT_ROOT/scripts/lib.sh\" && jt_nats_auth_write",
                    NULL};
    const char *vars[] = {var_env, root_env, NULL};
    char **envp = jt_proc_envp("JOULETRACE_", vars);
    if (envp == NULL)
        return -1;
    pid_t pid = jt_proc_spawn(argv, envp, log, SIGKILL, false);
    free(envp);
    int status = -1;
    if (pid < 0 || !jt_proc_reap(pid, 30.0, &status) || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        fprintf(stderr, "nats_auth: jt_nats_auth_write failed (status %d)\n", status);
        jt_proc_dump_log("generate", log, 2047);
        return -1;
    }
    return 0;
}

int jt_nats_auth_start(jt_nats_auth_t *a, const char *repo_root)
{
    memset(a, 0, sizeof *a);
    if (jt_temp_dir_make(a->dir, sizeof a->dir, "jt-nats-auth") != 0) {
        fprintf(stderr, "nats_auth: cannot make a temporary directory\n");
        a->dir[0] = '\0';
        return -1;
    }
    snprintf(a->conf, sizeof a->conf, "%s/nats/nats-server.conf", a->dir);
    snprintf(a->service_creds, sizeof a->service_creds, "%s/nats/service.credentials", a->dir);
    snprintf(a->client_creds, sizeof a->client_creds, "%s/nats/client.credentials", a->dir);
    if (generate(a, repo_root) != 0 || jt_nats_server_start_config(&a->srv, a->conf) != 0) {
        jt_nats_auth_stop(a);
        return -1;
    }
    return 0;
}

void jt_nats_auth_stop(jt_nats_auth_t *a)
{
    if (a->srv.pid > 0 || a->srv.dir[0] != '\0')
        jt_nats_server_stop(&a->srv);
    if (a->dir[0] != '\0')
        jt_temp_dir_remove(a->dir);
    a->dir[0] = '\0';
}
