# alloc.cmake — the request path allocates nothing in steady state (issue
# 12): the real server runs under an LD_PRELOAD allocation counter while a
# test drives a mixed load through it. Plain build only: the sanitizers
# bring their own allocator, which the counter would stand in front of.
if(NOT SMM_SANITIZE)
  add_library(smm_malloc_count SHARED alloc/malloc_count.c)
  smm_e2e_test(e2e_alloc_count test_alloc_count.py)
  set_property(TEST e2e_alloc_count APPEND PROPERTY ENVIRONMENT
               "SMM_MALLOC_COUNT_LIB=$<TARGET_FILE:smm_malloc_count>")
endif()
