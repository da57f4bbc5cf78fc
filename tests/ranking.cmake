# ranking.cmake -- unit tests of the ranking statistics and of a batch's estimator.
set(JT_RANKING_CASES
    pairs_ordered_and_kept_together pairs_worst_corner identical_candidates_share_a_tier
    slope_is_cut_into_tiers median_interval_covers ratio_interval_covers rank_interval_covers
    one_candidate one_trial_is_unbounded non_positive_medians_have_no_ratio ties_share_rank
    finite_input_never_gives_nan invalid_input same_seed_same_result needs_more_rules
    precision_projection
    compare_exact_values compare_detects_and_stays_quiet compare_rejects_bad_input
    thousand_candidates_fast)
jt_add_cmocka_test(test_ranking
  SOURCES test_ranking.c
  CASES ${JT_RANKING_CASES}
  TIMEOUT 120
  LIBS jt-energy m)
foreach(c ${JT_RANKING_CASES})
  set_tests_properties(test_ranking.${c} PROPERTIES LABELS ranking)
endforeach()

# test_batch_estimate: a batch's estimator on built blocks.
set(JT_BATCH_ESTIMATE_CASES exact_under_step exact_under_ramp incomplete_blocks_skipped
  block_effect_taken_out own_outlier_kept own_trial_not_in_factor quiet_machine_unadjusted
  noisy_candidate_does_not_vote
  small_blocks_unadjusted)
jt_add_cmocka_test(test_batch_estimate
  SOURCES test_batch_estimate.c
  CASES ${JT_BATCH_ESTIMATE_CASES}
  LIBS jt-measure m)
foreach(c ${JT_BATCH_ESTIMATE_CASES})
  set_tests_properties(test_batch_estimate.${c} PROPERTIES LABELS ranking)
endforeach()
