/* calibration_record.h -- private to shared/energy: the calibration record's names, timestamps, checks. */
#ifndef JT_CALIBRATION_RECORD_H
#define JT_CALIBRATION_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "calibration.h"
#include "status.h"

#define JT_CALIBRATION_ID_MAX 65535 /* bound on socket_id and measurement_core */
#define JT_CALIBRATION_MAX_VALID_DAYS 365
#define JT_CALIBRATION_N_DOMAIN_NAMES 5

/* The domain names a file may hold, in canonical order (package first). */
extern const char *const jt_calibration_domain_names[JT_CALIBRATION_N_DOMAIN_NAMES];

/* Whether s is one of list[0..n). */
bool jt_calibration_in_list(const char *s, const char *const *list, size_t n);

/* "YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z" (len bytes at s) -> seconds since the epoch. */
bool jt_calibration_parse_timestamp(const char *s, size_t len, time_t *out);

/* The checks both load and save apply to a filled record (ranges, names, the package domain). */
jt_status_t jt_calibration_validate(const jt_calibration_t *c, jt_error_t *err);

#endif
