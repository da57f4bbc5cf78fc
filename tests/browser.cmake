# browser.cmake -- the dashboard in headless chromium (tests/browser/): playwright-core from npm, a real nats-server, gateway and worker.
#
# browser.setup (fixture) installs what is missing: chromium via scripts/deps when run as root
# (else it fails saying what to install), playwright-core by npm ci into the build directory.
# Each case starts its own system on free loopback ports; screenshots are kept in
# tests/browser-artefacts/ of the build directory.
find_program(JT_NODE node)
if(NOT JT_NODE)
  message(STATUS "node not found: the browser tests fail until scripts/deps installs nodejs")
  set(JT_NODE node)
endif()
set(JT_BROWSER_NPM ${CMAKE_BINARY_DIR}/tests/browser-npm)
set(JT_BROWSER_ENV JT_BUILD_DIR=${CMAKE_BINARY_DIR} JT_BROWSER_NPM=${JT_BROWSER_NPM}
    JT_BROWSER_TMP=${CMAKE_BINARY_DIR}/tests/browser-tmp
    JT_BROWSER_ARTEFACTS=${CMAKE_BINARY_DIR}/tests/browser-artefacts)
add_test(NAME browser.setup
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/browser/setup.sh ${JT_BROWSER_NPM})
set_tests_properties(browser.setup PROPERTIES LABELS browser TIMEOUT 900
                     FIXTURES_SETUP browser_tools)
add_test(NAME browser.files COMMAND ${JT_NODE} ${CMAKE_CURRENT_SOURCE_DIR}/browser/dashboard_test.mjs files)
set_tests_properties(browser.files PROPERTIES
  LABELS browser TIMEOUT 180 FIXTURES_REQUIRED browser_tools
  ENVIRONMENT "${JT_BROWSER_ENV}")
# The cases with a worker measure on its core.
foreach(c task_page batch_ranking)
  add_test(NAME browser.${c} COMMAND ${JT_NODE} ${CMAKE_CURRENT_SOURCE_DIR}/browser/dashboard_test.mjs ${c})
  set_tests_properties(browser.${c} PROPERTIES
    LABELS browser TIMEOUT 420 RUN_SERIAL TRUE RESOURCE_LOCK measurement_core
    FIXTURES_REQUIRED browser_tools
    ENVIRONMENT "${JT_BROWSER_ENV}")
endforeach()
