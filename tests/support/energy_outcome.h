/* energy_outcome.h -- energy tests: one finished worker command, its output and its numbers. */
#ifndef JT_TESTS_ENERGY_OUTCOME_H
#define JT_TESTS_ENERGY_OUTCOME_H

#include <jansson.h>
#include <stddef.h>

#define ERR_TAIL (16u << 10) /* stderr: the last bytes are kept */

/* One finished worker command. */
typedef struct {
    char label[64];
    int exit_code; /* -1 when killed by a signal */
    char *out;     /* stdout, NUL-terminated, at most 4 MiB kept */
    size_t out_len, out_total;
    char err[ERR_TAIL + 1]; /* the tail of stderr */
    size_t err_len;
    double wall;
    long samples, foreign; /* scans of the measurement core; those that saw foreign tasks */
    json_t *json;          /* parsed stdout, NULL if none */
} outcome_t;

/* A new outcome labelled label, exit code -1, nothing read yet; NULL when out of memory. */
outcome_t *outcome_new(const char *label);

/* Append stdout bytes, keeping the first 4 MiB; out_total counts them all. */
void outcome_keep_out(outcome_t *o, const char *data, size_t n);

/* Append stderr bytes, keeping the last ERR_TAIL. */
void outcome_keep_err(outcome_t *o, const char *data, size_t n);

/* Free an outcome and what it holds; NULL is allowed. */
void outcome_free(outcome_t *o);

/* A number of the result by dotted path (array indexes allowed), NAN when absent. */
double num(const outcome_t *o, const char *path);

/* A string of the result by dotted path, "(absent)" when there is none. */
const char *str(const outcome_t *o, const char *path);

/* The judged figure, energy_metrics.median_total_energy_joules (net J per run);
 * NAN when absent. */
double energy(const outcome_t *o);

/* The numbers of one command, printed for every command. */
void print_summary(const outcome_t *o);

/* The last JSON_TAIL_SHOWN bytes of a command's stdout and its stderr tail. */
void print_tails(const outcome_t *o);

#endif
