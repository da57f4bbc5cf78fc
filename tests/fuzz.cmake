# fuzz.cmake -- fuzz targets of the decoders of untrusted bytes (tests/fuzz/), replayed and fuzzed.
#
# Every build compiles each tests/fuzz/fuzz_NAME.c with a plain driver (replay_main.c) into
# fuzz_replay_NAME and registers ctest fuzz_replay.NAME (label fuzz), which feeds it every
# file of tests/fuzz/corpus/NAME: the targets' invariants hold over the seeds in every build.
#
# With -DJT_FUZZ=ON (clang only; scripts/fuzz configures build-fuzz/ so) each target is also
# a libFuzzer program tests/fuzz_NAME, built by the target fuzz_all. The libraries the targets
# link get libFuzzer's coverage instrumentation and ASan + UBSan (every UB report aborts), and
# whatever links them links the sanitizer runtimes: such a build tree is for fuzzing only
# (its sandbox runner, for one, cannot run under RLIMIT_AS with ASan).
option(JT_FUZZ "Build the libFuzzer targets of the decoders (needs clang)" OFF)
set(JT_FUZZ_SANITIZE -fsanitize=address,undefined -fno-sanitize-recover=all
    -fno-omit-frame-pointer)
if(JT_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "JT_FUZZ=ON needs clang: configure with CC=clang")
  endif()
  foreach(lib jt-base jt-wire jt-bus jt-energy)
    target_compile_options(${lib} PRIVATE -fsanitize=fuzzer-no-link ${JT_FUZZ_SANITIZE})
    target_link_options(${lib} INTERFACE -fsanitize=address,undefined)
  endforeach()
  add_custom_target(fuzz_all)
endif()

# jt_add_fuzz_target(NAME [SOURCES src...] [INCLUDES dir...] LIBS lib...)
# fuzz_replay_NAME and ctest fuzz_replay.NAME always; fuzz_NAME and ctest fuzz_corpus.NAME
# (the libFuzzer program over the same seeds, -runs=0) with JT_FUZZ. SOURCES are compiled
# into the target beside tests/fuzz/fuzz_NAME.c.
function(jt_add_fuzz_target name)
  cmake_parse_arguments(F "" "" "SOURCES;INCLUDES;LIBS" ${ARGN})
  set(sources fuzz/fuzz_${name}.c ${F_SOURCES})
  set(corpus ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/${name})
  set(programs fuzz_replay_${name})
  add_executable(fuzz_replay_${name} fuzz/replay_main.c ${sources})
  add_test(NAME fuzz_replay.${name} COMMAND fuzz_replay_${name} ${corpus})
  set_tests_properties(fuzz_replay.${name} PROPERTIES TIMEOUT 60 LABELS fuzz)
  if(JT_FUZZ)
    list(APPEND programs fuzz_${name})
    add_executable(fuzz_${name} ${sources})
    target_compile_options(fuzz_${name} PRIVATE -fsanitize=fuzzer ${JT_FUZZ_SANITIZE})
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    add_dependencies(fuzz_all fuzz_${name})
    # -runs=0 only replays the seeds (libFuzzer writes nothing into the folder).
    add_test(NAME fuzz_corpus.${name} COMMAND fuzz_${name} -runs=0 ${corpus})
    set_tests_properties(fuzz_corpus.${name} PROPERTIES TIMEOUT 120 LABELS fuzz)
  endif()
  foreach(p ${programs})
    target_include_directories(${p} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz ${F_INCLUDES})
    target_link_libraries(${p} PRIVATE ${F_LIBS})
    set_target_properties(${p} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  endforeach()
endfunction()

# The REST body and the job on the bus (shared/wire job_json.c, job_msgpack.c, unpack.c).
jt_add_fuzz_target(job_json LIBS jt-wire)
jt_add_fuzz_target(job_msgpack LIBS jt-wire)
# Frames between worker, runner, sandbox child and runs (frame.c, protocol.c, compare.c).
jt_add_fuzz_target(frames LIBS jt-wire)
# The calibration file (shared/energy calibration*.c).
jt_add_fuzz_target(calibration LIBS jt-energy)
# Task records read back from the tasks KV bucket (shared/bus task_state.c and its callers).
jt_add_fuzz_target(task_record LIBS jt-bus)
# Ids and headers at the gateway's front door (task_id.c, gateway/ids.c, gateway/door.c).
jt_add_fuzz_target(ids
  SOURCES ${PROJECT_SOURCE_DIR}/gateway/ids.c ${PROJECT_SOURCE_DIR}/gateway/door.c
  INCLUDES ${PROJECT_SOURCE_DIR}/gateway
  LIBS jt-bus)
# Callback URLs and the allowlist (shared/base callback_url.c), webhook messages from the bus
# (shared/bus webhook_queue.c).
jt_add_fuzz_target(callback_url LIBS jt-bus)
