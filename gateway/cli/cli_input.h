/* cli_input.h -- the jouletrace client's input files: JSON bodies, Python sources, the token file.
 */
#ifndef JT_CLI_INPUT_H
#define JT_CLI_INPUT_H

#include <jansson.h>
#include <stddef.h>

#define JT_CLI_INPUT_MAX (64u << 20) /* bytes of an input file read at most (a batch's bound) */
#define JT_CLI_TOKEN_FILE_MAX 4096   /* bytes of a token file read at most */

/* The whole file at path ("-": standard input), NUL-terminated, its length in *len; at most
 * JT_CLI_INPUT_MAX bytes. NULL with a line on stderr when it cannot be read or is longer.
 * The caller frees it. */
char *jt_cli_read_file(const char *path, size_t *len);

/* The JSON document in the file at path (jt_cli_read_file), as a new reference; NULL with a
 * line on stderr naming the file, line and column when it is not JSON. */
json_t *jt_cli_read_json(const char *path);

/* The bearer token of the file at path into token (cap bytes): its first line that is neither
 * empty nor a '#' comment, without surrounding blanks, 16..256 visible ASCII characters. The
 * file must be a regular file that neither group nor others may access (chmod 600), as the
 * gateway demands of its own token file (docs/security.md). Returns 0, or -1 with a line on
 * stderr that never shows the file's content. */
int jt_cli_read_token_file(const char *path, char *token, size_t cap);

/* Whether t is a token the gateway can hold: 16..256 visible ASCII characters. */
int jt_cli_token_ok(const char *t);

#endif
