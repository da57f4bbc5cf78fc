/* record_keys.c -- the fields a task record must have (README, docs/measurement.md). */
#include "record_keys.h"

#include <stddef.h>

const char *const RECORD_KEYS[] = {"task_id",      "status",       "stage",      "progress",
                                   "trial",        "trials_total", "cv_percent", "elapsed_seconds",
                                   "created_at",   "updated_at",   "worker",     "candidate_id",
                                   "problem_name", "request_id",   NULL};
const char *const VALIDATION_KEYS[] = {"is_correct",    "passed_tests", "total_tests", "pass_rate",
                                       "error_summary", "test_results", NULL};
const char *const TEST_RESULT_KEYS[] = {"test_id", "passed", "status", "message", NULL};
const char *const ENERGY_KEYS[] = {"median_package_energy_joules", "median_ram_energy_joules",
                                   "median_total_energy_joules",   "median_execution_time_seconds",
                                   "energy_per_test_case_joules",  "power_consumption_watts",
                                   "energy_efficiency_score",      NULL};
const char *const ENVIRONMENT_KEYS[] = {"meter_type",  "energy_is_estimated", "measurement_core",
                                        "socket",      "cpu_model",           "thermal_controlled",
                                        "calibration", "timestamp",           NULL};
const char *const STATISTICS_KEYS[] = {
    "trials",   "repeats_per_trial", "mean", "stddev", "cv_percent", "mad", "ci95_low", "ci95_high",
    "outliers", "early_stop_reason", NULL};
const char *const TRIAL_KEYS[] = {"gross_joules", "net_joules", "seconds", "repeats",
                                  "started_at",   "ended_at",   NULL};
