# openapi.cmake -- docs/openapi.json checked: linted (label openapi), and every answer the end-to-end tests got validated against it.
# openapi.npm_ci installs tests/openapi's pinned packages into the build directory (npm ci; skipped
# when that lock is installed already). openapi.lint runs the OpenAPI 3.1 validator and local rules
# (tests/openapi/lint.mjs). Tests named in jt_log_responses() write each answer of their HTTP
# client to openapi-responses/<test>.jsonl (JT_RESPONSE_LOG, tests/support/curl_client.c);
# openapi.clear_responses empties that folder before them and openapi.responses checks the
# lines after them (ctest fixture jt_responses: run any of those tests and both come along).
find_program(JT_NODE node)
set(JT_OPENAPI_DOC ${PROJECT_SOURCE_DIR}/docs/openapi.json)
set(JT_OPENAPI_NODE ${CMAKE_BINARY_DIR}/openapi-node)
set(JT_OPENAPI_RESPONSES ${CMAKE_BINARY_DIR}/openapi-responses)

# Log the answers of the tests named (ctest names) for openapi.responses.
function(jt_log_responses)
  foreach(t ${ARGN})
    set_property(TEST ${t} APPEND PROPERTY ENVIRONMENT
                 "JT_RESPONSE_LOG=${JT_OPENAPI_RESPONSES}/${t}.jsonl")
    set_property(TEST ${t} APPEND PROPERTY FIXTURES_REQUIRED jt_responses)
  endforeach()
endfunction()

# GET /openapi.json: the built-in document, open without a token (tests/test_gateway_openapi.c).
set(JT_GATEWAY_OPENAPI_CASES served_as_built open_without_token)
jt_add_cmocka_test(test_gateway_openapi
  SOURCES test_gateway_openapi.c
  CASES ${JT_GATEWAY_OPENAPI_CASES}
  TIMEOUT 60
  LIBS jt-bus jt-test-support PkgConfig::CURL PkgConfig::NATS PkgConfig::JANSSON)
target_compile_definitions(test_gateway_openapi PRIVATE JT_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
add_dependencies(test_gateway_openapi jouletrace-gateway)
list(TRANSFORM JT_GATEWAY_OPENAPI_CASES PREPEND test_gateway_openapi.
     OUTPUT_VARIABLE JT_GATEWAY_OPENAPI_TESTS)
set_tests_properties(${JT_GATEWAY_OPENAPI_TESTS} PROPERTIES LABELS "gateway;openapi")
jt_log_responses(${JT_GATEWAY_OPENAPI_TESTS})

if(NOT JT_NODE)
  message(WARNING "node is not installed: the openapi tests are left out (scripts/deps installs it)")
  return()
endif()

add_test(NAME openapi.npm_ci
         COMMAND ${PROJECT_SOURCE_DIR}/tests/openapi/npm_ci.sh ${JT_OPENAPI_NODE})
add_test(NAME openapi.lint
         COMMAND ${JT_NODE} ${PROJECT_SOURCE_DIR}/tests/openapi/lint.mjs ${JT_OPENAPI_NODE}
                 ${JT_OPENAPI_DOC})
add_test(NAME openapi.clear_responses
         COMMAND sh -c "rm -rf \"$1\" && mkdir -p \"$1\"" sh ${JT_OPENAPI_RESPONSES})
add_test(NAME openapi.responses
         COMMAND ${JT_NODE} ${PROJECT_SOURCE_DIR}/tests/openapi/validate_responses.mjs
                 ${JT_OPENAPI_NODE} ${JT_OPENAPI_DOC} ${JT_OPENAPI_RESPONSES})
set_tests_properties(openapi.npm_ci PROPERTIES LABELS openapi FIXTURES_SETUP openapi_npm
                     TIMEOUT 600)
set_tests_properties(openapi.lint PROPERTIES LABELS openapi FIXTURES_REQUIRED openapi_npm
                     TIMEOUT 60)
set_tests_properties(openapi.clear_responses PROPERTIES LABELS openapi
                     FIXTURES_SETUP jt_responses)
# Skipped (77) when no test logged an answer, e.g. `ctest -L openapi` alone.
set_tests_properties(openapi.responses PROPERTIES LABELS openapi TIMEOUT 300
                     FIXTURES_REQUIRED openapi_npm FIXTURES_CLEANUP jt_responses
                     SKIP_RETURN_CODE 77)
