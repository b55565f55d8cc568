# run.cmake — one bounded libFuzzer run for ctest (see tests/fuzz.cmake):
#   cmake -DFUZZER=bin -DSEEDS=dir -DWORK=dir -DSECONDS=n -P run.cmake
# Copies the seeds to WORK/corpus, fuzzes for SECONDS and fails on any
# crash; the input that crashed is left in WORK.
foreach(v FUZZER SEEDS WORK SECONDS)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "run.cmake: -D${v}=... is required")
  endif()
endforeach()
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}/corpus")
file(GLOB seeds "${SEEDS}/*")
file(COPY ${seeds} DESTINATION "${WORK}/corpus")
list(LENGTH seeds nseeds)
message(STATUS "fuzzing ${FUZZER} for ${SECONDS} s from ${nseeds} seeds in ${WORK}")
execute_process(
  COMMAND "${FUZZER}" -max_total_time=${SECONDS} -timeout=25 -max_len=8192
          -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=${WORK}/
          "${WORK}/corpus"
  WORKING_DIRECTORY "${WORK}"
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(GLOB found "${WORK}/crash-*" "${WORK}/leak-*" "${WORK}/timeout-*" "${WORK}/oom-*")
  message(FATAL_ERROR "${FUZZER} failed (exit ${rc}); inputs: ${found}")
endif()
