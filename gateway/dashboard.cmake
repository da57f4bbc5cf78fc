# dashboard.cmake -- the dashboard (gateway/dashboard/): uPlot from the npm registry and the static files, embedded into the gateway as C arrays.
#
# With JT_DASHBOARD (default ON) the build runs `npm ci` on gateway/dashboard/package-lock.json in
# the build directory (never in the source tree) and embed_assets.cmake turns every file below
# into one generated C file, dashboard_assets.c: the installed gateway reads no data files.
# With -DJT_DASHBOARD=OFF the table is empty and / answers 404; npm is then not needed.
option(JT_DASHBOARD "Serve the dashboard at / (needs npm and the npm registry at build time)" ON)

set(JT_DASHBOARD_SRC ${CMAKE_CURRENT_SOURCE_DIR}/dashboard)
set(JT_DASHBOARD_NPM ${CMAKE_CURRENT_BINARY_DIR}/dashboard-npm)
set(JT_DASHBOARD_C ${CMAKE_CURRENT_BINARY_DIR}/dashboard_assets.c)
set(JT_DASHBOARD_MANIFEST ${CMAKE_CURRENT_BINARY_DIR}/dashboard_manifest.txt)

# URL path | file (embed_assets.cmake gives the content type by the extension)
set(JT_DASHBOARD_ASSETS
    "/|${JT_DASHBOARD_SRC}/index.html"
    "/dashboard/style.css|${JT_DASHBOARD_SRC}/style.css"
    "/dashboard/app.js|${JT_DASHBOARD_SRC}/app.js"
    "/dashboard/api.js|${JT_DASHBOARD_SRC}/api.js"
    "/dashboard/event_stream.js|${JT_DASHBOARD_SRC}/event_stream.js"
    "/dashboard/known_ids.js|${JT_DASHBOARD_SRC}/known_ids.js"
    "/dashboard/list_page.js|${JT_DASHBOARD_SRC}/list_page.js"
    "/dashboard/task_page.js|${JT_DASHBOARD_SRC}/task_page.js"
    "/dashboard/batch_page.js|${JT_DASHBOARD_SRC}/batch_page.js"
    "/dashboard/submit_form.js|${JT_DASHBOARD_SRC}/submit_form.js"
    "/dashboard/plots.js|${JT_DASHBOARD_SRC}/plots.js"
    "/dashboard/html.js|${JT_DASHBOARD_SRC}/html.js"
    "/dashboard/favicon.svg|${JT_DASHBOARD_SRC}/favicon.svg"
    "/dashboard/vendor/uPlot.esm.js|${JT_DASHBOARD_NPM}/node_modules/uplot/dist/uPlot.esm.js"
    "/dashboard/vendor/uPlot.min.css|${JT_DASHBOARD_NPM}/node_modules/uplot/dist/uPlot.min.css")

set(manifest "")
set(inputs "")
if(JT_DASHBOARD)
  find_program(JT_NPM npm)
  if(NOT JT_NPM)
    message(FATAL_ERROR "JT_DASHBOARD is ON but npm is not installed: run scripts/deps (it installs "
                        "nodejs and npm), or configure with -DJT_DASHBOARD=OFF to build the gateway "
                        "without its dashboard")
  endif()
  add_custom_command(
    OUTPUT ${JT_DASHBOARD_NPM}/node_modules/uplot/dist/uPlot.esm.js
           ${JT_DASHBOARD_NPM}/node_modules/uplot/dist/uPlot.min.css
    COMMAND ${CMAKE_COMMAND} -DNPM=${JT_NPM} -DSRC=${JT_DASHBOARD_SRC} -DDIR=${JT_DASHBOARD_NPM}
            -P ${CMAKE_CURRENT_SOURCE_DIR}/dashboard_npm.cmake
    DEPENDS ${JT_DASHBOARD_SRC}/package.json ${JT_DASHBOARD_SRC}/package-lock.json
            ${CMAKE_CURRENT_SOURCE_DIR}/dashboard_npm.cmake
    COMMENT "npm ci: the dashboard's uPlot (gateway/dashboard/package-lock.json)")
  foreach(a ${JT_DASHBOARD_ASSETS})
    string(APPEND manifest "${a}\n")
    string(REGEX REPLACE "^.*\\|" "" file "${a}")
    list(APPEND inputs ${file})
  endforeach()
endif()
file(CONFIGURE OUTPUT ${JT_DASHBOARD_MANIFEST} CONTENT "${manifest}")

add_custom_command(
  OUTPUT ${JT_DASHBOARD_C}
  COMMAND ${CMAKE_COMMAND} -DMANIFEST=${JT_DASHBOARD_MANIFEST} -DOUT=${JT_DASHBOARD_C}
          -P ${CMAKE_CURRENT_SOURCE_DIR}/embed_assets.cmake
  DEPENDS ${inputs} ${JT_DASHBOARD_MANIFEST} ${CMAKE_CURRENT_SOURCE_DIR}/embed_assets.cmake
  COMMENT "Embedding the dashboard's files")
