/* calibration_file.h -- the calibration tests' fixture: a directory, a sample, files by hand.
 *
 * Every function fails the running cmocka case when what it needs does not happen.
 */
#ifndef JT_TESTS_CALIBRATION_FILE_H
#define JT_TESTS_CALIBRATION_FILE_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

#include "calibration.h"

/* 2026-11-24T01:41:53Z (calendar.timegm in Python gives the same). */
#define T0 ((time_t)1795484513)
#define DAY 86400
#define HOST "calib-host"

/* A case's temporary directory and the calibration file's path in it. */
typedef struct {
    char dir[64];
    char path[128]; /* dir/socket0_calibration.json */
} calib_fixture_t;

/* cmocka setup: a fresh directory /tmp/jt_calib_XXXXXX (nothing in it yet). */
int calib_setup(void **state);

/* cmocka teardown: remove the directory and what is in it. */
int calib_teardown(void **state);

/* How many entries dir holds (. and .. aside). */
size_t entries_in(const char *dir);

/* A valid calibration of HOST made at T0 into *c. */
void sample(jt_calibration_t *c);

/* A valid file as JSON (the same as sample), written independently of jt_calibration_save. */
json_t *valid_json(void);

/* Write text[0..len) to path. */
void write_text(const char *path, const char *text, size_t len);

/* Write j (and release it) to path, indented. */
void write_json(const char *path, json_t *j);

/* The text of path (at most 8191 bytes, in static storage: valid until the next call). */
char *read_text(const char *path);

/* Load path expecting failure with code at field; returns the error. */
jt_error_t load_fails(const char *path, jt_status_t code, const char *field);

/* Load path, which must succeed, into *c. */
void load_ok(const char *path, jt_calibration_t *c);

/* hay contains needle. */
void assert_contains(const char *hay, const char *needle);

/* Save c to path, which must succeed. */
void save_ok(const char *path, const jt_calibration_t *c);

#endif
