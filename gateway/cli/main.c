/* main.c -- jouletrace: the command line client of the JouleTrace gateway (options, environment,
 * dispatch). */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_commands.h"
#include "cli_http.h"
#include "cli_input.h"

#define MAX_ARGS 8 /* positional arguments kept */

static const char USAGE[] =
    "usage: jouletrace [OPTIONS] COMMAND ARGS\n"
    "\n"
    "Commands:\n"
    "  submit JOB.json [--wait]          POST /api/v1/measure; print the task id, or with\n"
    "                                    --wait follow it to its end and print its summary\n"
    "  watch ID [--task|--batch]         follow a task's (or batch's) events: a progress bar on\n"
    "                                    a terminal, one line per change otherwise\n"
    "  result ID [--json] [--task|--batch]  a task's summary (status, validation, energy with its\n"
    "                                    interval, quality, proxies) or a batch's ranking table\n"
    "  cancel ID [--task|--batch]        DELETE the task or batch\n"
    "  validate JOB.json                 POST /api/v1/validate: correctness only\n"
    "  batch BATCH.json [--wait]         POST /api/v1/batches; print the batch id, or its ranking\n"
    "  compare A.py B.py --tests TESTS.json [--function NAME] [--max-seconds S] [--wait]\n"
    "                                    POST /api/v1/compare with the two files' code as a and\n"
    "                                    b; TESTS.json is the list of test cases\n"
    "\n"
    "An ID is tried as a task first, then as a batch (--task, --batch say which). A file may\n"
    "be - for standard input.\n"
    "\n"
    "Options (also after the command):\n"
    "  --url URL          gateway base URL (JOULETRACE_URL; default " JT_CLI_URL_DEFAULT ")\n"
    "  --token-file FILE  bearer token: first line of a chmod 600 file (JOULETRACE_TOKEN_FILE)\n"
    "  --token TOKEN      bearer token (JOULETRACE_TOKEN; visible to other users in ps: prefer\n"
    "                     the file)\n"
    "  --timeout SECONDS  limit of the whole command, --wait and watch included (default: 30 s\n"
    "                     a request, no limit when following)\n"
    "  --json             print the API's JSON as it is instead of a summary\n"
    "  --function NAME    compare: the function's name (default solve)\n"
    "  --max-seconds S    compare: the measurement budget, max_measurement_seconds (default:\n"
    "                     the gateway's, 3600)\n"
    "  -h, --help         this text\n"
    "\n"
    "Exit status:\n"
    "  0  done; a followed task or batch completed (validate: correct)\n"
    "  1  the task or batch failed or was cancelled (validate: incorrect)\n"
    "  2  usage error: bad arguments, an unreadable input or token file\n"
    "  3  HTTP or connection error: no answer, a 5xx answer, an answer that is not the API's\n"
    "  4  the API refused the request (4xx): its error, message and field path on stderr\n"
    "  5  timeout (--timeout)\n";

static int usage(const char *why)
{
    if (why)
        fprintf(stderr, "jouletrace: %s\n", why);
    fprintf(stderr, "usage: jouletrace [OPTIONS] COMMAND ARGS (jouletrace --help)\n");
    return JT_CLI_USAGE;
}

/* Everything the command line said. */
typedef struct {
    const char *url, *token, *token_file, *timeout, *tests, *function, *max_seconds;
    jt_cli_flags_t flags;
    const char *args[MAX_ARGS];
    int nargs;
    int help;
} options_t;

/* The value of an option: "--name=value" or the next argument. NULL when missing. */
static const char *value_of(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (*i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

/* Whether arg is the option name, alone or as "name=...". */
static int is_opt(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

static int parse(int argc, char **argv, options_t *o)
{
    static const char *const valued[] = {"--url",   "--token",    "--token-file", "--timeout",
                                         "--tests", "--function", "--max-seconds"};
    int only_args = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_args || a[0] != '-' || strcmp(a, "-") == 0) {
            if (o->nargs == MAX_ARGS)
                return usage("too many arguments");
            o->args[o->nargs++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_args = 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            o->help = 1;
        } else if (strcmp(a, "--wait") == 0) {
            o->flags.wait = true;
        } else if (strcmp(a, "--json") == 0) {
            o->flags.json = true;
        } else if (strcmp(a, "--task") == 0 || strcmp(a, "--batch") == 0) {
            jt_cli_kind_t k = a[2] == 't' ? JT_CLI_KIND_TASK : JT_CLI_KIND_BATCH;
            if (o->flags.kind != JT_CLI_KIND_AUTO && o->flags.kind != k)
                return usage("--task and --batch exclude each other");
            o->flags.kind = k;
        } else {
            const char **slots[] = {&o->url,   &o->token,    &o->token_file, &o->timeout,
                                    &o->tests, &o->function, &o->max_seconds};
            size_t k = 0;
            while (k < sizeof valued / sizeof valued[0] && !is_opt(a, valued[k]))
                k++;
            if (k == sizeof valued / sizeof valued[0]) {
                fprintf(stderr, "jouletrace: unknown option %.64s\n", a);
                return usage(NULL);
            }
            const char *v = value_of(argc, argv, &i, valued[k]);
            if (!v) {
                fprintf(stderr, "jouletrace: %s needs a value\n", valued[k]);
                return usage(NULL);
            }
            *slots[k] = v;
        }
    }
    return JT_CLI_OK;
}

/* A number of seconds in (0, 1e6] from text into *s: 0, or -1 when it is none. */
static int seconds_of(const char *text, double *s)
{
    char *end;
    errno = 0;
    *s = strtod(text, &end);
    return errno || end == text || *end || !(*s > 0 && *s <= 1e6) ? -1 : 0;
}

/* The settings of cli from the options and the environment. */
static int settle(const options_t *o, jt_cli_t *cli)
{
    const char *url = o->url ? o->url : getenv("JOULETRACE_URL");
    if (!url || !url[0])
        url = JT_CLI_URL_DEFAULT;
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    if ((strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) ||
        n >= sizeof cli->url || strpbrk(url, " \t\r\n?#")) {
        fprintf(stderr, "jouletrace: the URL must be http://HOST[:PORT] or https://...\n");
        return JT_CLI_USAGE;
    }
    memcpy(cli->url, url, n);
    cli->url[n] = '\0';

    const char *token = o->token ? o->token : (o->token_file ? NULL : getenv("JOULETRACE_TOKEN"));
    const char *file =
        o->token_file ? o->token_file : (o->token ? NULL : getenv("JOULETRACE_TOKEN_FILE"));
    if (token && token[0] && file && file[0]) {
        fprintf(stderr, "jouletrace: a token and a token file: give one of them\n");
        return JT_CLI_USAGE;
    }
    if (file && file[0]) {
        if (jt_cli_read_token_file(file, cli->token, sizeof cli->token) != 0)
            return JT_CLI_USAGE;
    } else if (token && token[0]) {
        if (!jt_cli_token_ok(token)) {
            fprintf(stderr, "jouletrace: the token must be 16..256 visible ASCII characters\n");
            return JT_CLI_USAGE;
        }
        snprintf(cli->token, sizeof cli->token, "%s", token);
    }

    if (o->timeout) {
        double s;
        if (seconds_of(o->timeout, &s) != 0) {
            fprintf(stderr, "jouletrace: --timeout takes seconds, above 0\n");
            return JT_CLI_USAGE;
        }
        cli->timeout_s = s;
        cli->deadline = jt_cli_now() + s;
    }
    return JT_CLI_OK;
}

/* Run the command o->args[0] with its arguments. */
static int dispatch(const options_t *o, const jt_cli_t *cli)
{
    const char *cmd = o->args[0];
    int n = o->nargs - 1; /* arguments after the command */
    const jt_cli_flags_t *fl = &o->flags;
    int by_id =
        strcmp(cmd, "watch") == 0 || strcmp(cmd, "result") == 0 || strcmp(cmd, "cancel") == 0;
    if (by_id) {
        if (n != 1)
            return usage("this command takes one ID");
        if (!jt_cli_id_ok(o->args[1]))
            return usage("an ID is 1..128 of A-Z a-z 0-9 _ -");
        if (cmd[0] == 'w')
            return jt_cli_watch(cli, o->args[1], fl);
        return cmd[0] == 'r' ? jt_cli_result(cli, o->args[1], fl)
                             : jt_cli_cancel(cli, o->args[1], fl);
    }
    if (strcmp(cmd, "submit") == 0 || strcmp(cmd, "batch") == 0 || strcmp(cmd, "validate") == 0) {
        if (n != 1)
            return usage("this command takes one file");
        if (cmd[0] == 's')
            return jt_cli_submit(cli, o->args[1], fl);
        return cmd[0] == 'b' ? jt_cli_batch(cli, o->args[1], fl)
                             : jt_cli_validate(cli, o->args[1], fl);
    }
    if (strcmp(cmd, "compare") == 0) {
        if (n != 2 || !o->tests)
            return usage("compare A.py B.py --tests TESTS.json");
        double budget = 0;
        if (o->max_seconds && seconds_of(o->max_seconds, &budget) != 0)
            return usage("--max-seconds takes seconds, above 0");
        return jt_cli_compare(cli, o->args[1], o->args[2], o->tests,
                              o->function ? o->function : "solve", budget, fl);
    }
    fprintf(stderr, "jouletrace: unknown command %.64s\n", cmd);
    return usage(NULL);
}

int main(int argc, char **argv)
{
    options_t o = {0};
    jt_cli_t cli = {0};
    int rc = parse(argc, argv, &o);
    if (rc != JT_CLI_OK)
        return rc;
    if (o.help) {
        fputs(USAGE, stdout);
        return JT_CLI_OK;
    }
    if (o.nargs == 0)
        return usage("no command");
    if ((rc = settle(&o, &cli)) != JT_CLI_OK)
        return rc;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "jouletrace: libcurl failed to start\n");
        return JT_CLI_TRANSPORT;
    }
    rc = dispatch(&o, &cli);
    curl_global_cleanup();
    memset(cli.token, 0, sizeof cli.token);
    return rc;
}
