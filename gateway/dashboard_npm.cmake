# dashboard_npm.cmake -- `npm ci` of the dashboard's pinned packages in the build directory (cmake -P; NPM, SRC, DIR).
file(MAKE_DIRECTORY ${DIR})
file(COPY ${SRC}/package.json ${SRC}/package-lock.json DESTINATION ${DIR})
execute_process(COMMAND ${NPM} ci --ignore-scripts --no-audit --no-fund
                WORKING_DIRECTORY ${DIR} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "npm ci for the dashboard failed (exit ${rc}) in ${DIR}: the build needs the "
                      "npm registry to fetch uPlot (gateway/dashboard/package-lock.json); configure "
                      "with -DJT_DASHBOARD=OFF to build the gateway without its dashboard.\n${out}")
endif()
# npm keeps the files' dates from the package: make them newer than the lock file.
file(TOUCH ${DIR}/node_modules/uplot/dist/uPlot.esm.js ${DIR}/node_modules/uplot/dist/uPlot.min.css)
