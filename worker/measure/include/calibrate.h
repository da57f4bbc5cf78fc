/* calibrate.h -- measure the idle power of the measurement socket and write the calibration file. */
#ifndef JT_CALIBRATE_H
#define JT_CALIBRATE_H

#include "calibration.h"
#include "config.h"
#include "status.h"

#define JT_CALIBRATE_INTERVAL_SECONDS 0.1
#define JT_CALIBRATE_MAX_BUSY_PERCENT 10.0

/* Sample every domain of the socket every 100 ms for `seconds` (>= 1) with the
 * meter meter_kind (NULL: cfg->meter), check that the measurement core stayed
 * idle (<= 10 % busy) and that the package power spread (CV) is at most
 * cfg->calibration_max_cv, and write the file to out_path (NULL:
 * cfg->calibration_path). Refuses to write, with JT_ERR_INVALID and a reason,
 * when the machine was not idle. *result receives what was (or would have
 * been) written. */
jt_status_t jt_calibrate(const jt_config_t *cfg, const char *meter_kind, double seconds,
                         const char *out_path, jt_calibration_t *result, jt_error_t *err);

#endif
