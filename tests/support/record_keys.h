/* record_keys.h -- the fields a task record must have (README's task record, the result of
 * docs/measurement.md), each list NULL-terminated. */
#ifndef JT_TESTS_RECORD_KEYS_H
#define JT_TESTS_RECORD_KEYS_H

extern const char *const RECORD_KEYS[];      /* the task record */
extern const char *const VALIDATION_KEYS[];  /* its validation block */
extern const char *const TEST_RESULT_KEYS[]; /* one of validation.test_results */
extern const char *const ENERGY_KEYS[];      /* energy_metrics */
extern const char *const ENVIRONMENT_KEYS[]; /* measurement_environment */
extern const char *const STATISTICS_KEYS[];  /* statistics */
extern const char *const TRIAL_KEYS[];       /* one of trials */

#endif
