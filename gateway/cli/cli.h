/* cli.h -- the jouletrace command line client's settings and exit codes. */
#ifndef JT_CLI_H
#define JT_CLI_H

#include <stdbool.h>

/* Exit codes of `jouletrace` (listed by `jouletrace --help` and in the README). */
enum {
    JT_CLI_OK = 0,        /* done; a followed task or batch completed */
    JT_CLI_FAILED = 1,    /* the task or batch failed or was cancelled (validate: incorrect) */
    JT_CLI_USAGE = 2,     /* bad command line, unreadable input file or token file */
    JT_CLI_TRANSPORT = 3, /* no connection, a 5xx answer, or an answer that is not the API's */
    JT_CLI_REFUSED = 4,   /* the API refused the request with a 4xx error envelope */
    JT_CLI_TIMEOUT = 5    /* --timeout passed before the answer or the end */
};

#define JT_CLI_URL_DEFAULT "http://127.0.0.1:8000"
#define JT_CLI_URL_MAX 1024
#define JT_CLI_TOKEN_MAX 256 /* the gateway's longest bearer token */
#define JT_CLI_TOKEN_MIN 16

/* What every command needs: where the gateway is and how to talk to it. */
typedef struct {
    char url[JT_CLI_URL_MAX];         /* base URL without a trailing '/' */
    char token[JT_CLI_TOKEN_MAX + 1]; /* bearer token, "" for none */
    double timeout_s; /* the whole command's limit; 0: none (single requests 30 s) */
    double deadline;  /* monotonic seconds when timeout_s runs out; 0: none */
} jt_cli_t;

#endif
