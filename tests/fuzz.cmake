# libFuzzer harnesses (tests/fuzz/) and their bounded runs. Configure a
# build dir of its own with CC=clang -DSMM_FUZZ=ON (and, like the rest of
# the suite, -DSMM_SANITIZE=address); without SMM_FUZZ this does nothing.
#
# The harnesses link private copies of smm_codec and smm_core compiled with
# coverage (-fsanitize=fuzzer-no-link) and ASan+UBSan, so the fuzzers are
# instrumented whatever flags the build dir gives the server's libraries,
# and the server and unit tests in the same dir are left untouched.
if(NOT SMM_FUZZ)
  return()
endif()
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "SMM_FUZZ needs clang (libFuzzer): configure with CC=clang")
endif()
if(SMM_SANITIZE STREQUAL "thread")
  message(FATAL_ERROR "SMM_FUZZ uses ASan and cannot share a build dir with SMM_SANITIZE=thread")
endif()

# Seconds each harness runs in the test suite; raise it for a longer hunt.
set(SMM_FUZZ_SECONDS 45 CACHE STRING "seconds each fuzz test runs under ctest")

set(smm_fuzz_flags -fsanitize=address,undefined -fno-sanitize-recover=undefined
    -fno-omit-frame-pointer -g)

# smm_fuzz_copy(NEW ORIGINAL): ORIGINAL's sources as NEW, instrumented.
function(smm_fuzz_copy new original)
  get_target_property(sources ${original} SOURCES)
  get_target_property(dir ${original} SOURCE_DIR)
  set(paths)
  foreach(s ${sources})
    if(IS_ABSOLUTE "${s}")
      list(APPEND paths "${s}")
    else()
      list(APPEND paths "${dir}/${s}")
    endif()
  endforeach()
  add_library(${new} STATIC ${paths})
  target_include_directories(${new} PUBLIC ${dir})
  target_compile_options(${new} PRIVATE -fsanitize=fuzzer-no-link ${smm_fuzz_flags})
  target_link_libraries(${new} PRIVATE smm_warnings)
endfunction()

smm_fuzz_copy(smm_proto_fuzz smm_codec)
target_link_libraries(smm_proto_fuzz PUBLIC PkgConfig::CJSON m)
smm_fuzz_copy(smm_core_fuzz smm_core)
target_link_libraries(smm_core_fuzz PUBLIC smm_proto_fuzz)

foreach(harness fuzz_request fuzz_exec fuzz_aofrec)
  add_executable(${harness} fuzz/${harness}.c)
  if(harness STREQUAL "fuzz_request")
    # The differential check: the scanner against the pre-scanner reference.
    target_sources(${harness} PRIVATE fuzz/request_ref.c)
  endif()
  target_compile_options(${harness} PRIVATE -fsanitize=fuzzer ${smm_fuzz_flags})
  target_link_options(${harness} PRIVATE -fsanitize=fuzzer ${smm_fuzz_flags})
  target_link_libraries(${harness} PRIVATE smm_core_fuzz smm_warnings)
  # Run on a copy of the seed corpus, so the checked-in one never changes;
  # any crash, leak, UB or timeout fails the test and leaves its input in
  # the run dir (printed on failure).
  add_test(NAME ${harness}
           COMMAND ${CMAKE_COMMAND}
                   -DFUZZER=$<TARGET_FILE:${harness}>
                   -DSEEDS=${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/${harness}
                   -DWORK=${CMAKE_CURRENT_BINARY_DIR}/fuzz-run/${harness}
                   -DSECONDS=${SMM_FUZZ_SECONDS}
                   -P ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/run.cmake)
  set_tests_properties(${harness} PROPERTIES LABELS fuzz
                       TIMEOUT ${SMM_TEST_TIMEOUT})
endforeach()
