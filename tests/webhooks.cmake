# webhooks.cmake -- webhooks (docs/webhooks.md): the callback allowlist, the signature, delivery end to end.
# test_callback_url: URLs and JOULETRACE_CALLBACK_ALLOW (shared/base/callback_url.c), the setting
# and the job field. test_webhook_sign: the signing secret file and HMAC-SHA256 against vectors
# computed with openssl (gateway/webhook_sign.c, compiled in). test_webhooks: real nats-server and
# gateway, a receiver of its own on 127.0.0.1 (tests/support/webhook_receiver.c, which checks each
# signature itself) and, in delivered_after_two_failures, a real worker that measures (core 1);
# auth_users_deliver runs the users of broker/nats-server-auth.conf.
pkg_check_modules(HOOK_CRYPTO REQUIRED IMPORTED_TARGET libcrypto)

jt_add_cmocka_test(test_callback_url
  SOURCES test_callback_url.c
  CASES bypass_tricks_refused empty_allowlist_refuses_all allowed_forms_accepted
        allowlist_validation config_settings job_field
  TIMEOUT 30
  LIBS jt-wire)

jt_add_cmocka_test(test_webhook_sign
  SOURCES test_webhook_sign.c ${PROJECT_SOURCE_DIR}/gateway/webhook_sign.c
  CASES known_vectors secret_file
  TIMEOUT 30
  LIBS jt-base jt-test-base PkgConfig::HOOK_CRYPTO)
target_include_directories(test_webhook_sign PRIVATE ${PROJECT_SOURCE_DIR}/gateway)

set(JT_WEBHOOK_CASES
    delivered_after_two_failures cancelled_while_queued outside_allowlist_refused redirect_not_followed
    hanging_receiver_does_not_block sigterm_during_delivery secret_required_at_start
    auth_users_deliver)
jt_add_cmocka_test(test_webhooks
  SOURCES test_webhooks.c support/webhook_receiver.c
  CASES ${JT_WEBHOOK_CASES}
  TIMEOUT 90
  LIBS jt-bus jt-test-support PkgConfig::CURL PkgConfig::NATS PkgConfig::JANSSON
       PkgConfig::HOOK_CRYPTO)
target_compile_definitions(test_webhooks PRIVATE
  JT_WORKER_BIN="${CMAKE_BINARY_DIR}/bin/jouletrace-worker"
  JT_BROKER_DIR="${PROJECT_SOURCE_DIR}/broker")
foreach(t jouletrace-gateway jouletrace-worker jouletrace-runner)
  if(TARGET ${t})
    add_dependencies(test_webhooks ${t})
  endif()
endforeach()
list(TRANSFORM JT_WEBHOOK_CASES PREPEND test_webhooks. OUTPUT_VARIABLE JT_WEBHOOK_TESTS)
set_tests_properties(${JT_WEBHOOK_TESTS} PROPERTIES LABELS "webhooks;gateway")
# The worker's trials run on the measurement core: that case runs alone.
set_tests_properties(test_webhooks.delivered_after_two_failures PROPERTIES
    TIMEOUT 300 RUN_SERIAL TRUE RESOURCE_LOCK measurement_core LABELS "webhooks;pipeline")
