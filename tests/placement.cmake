# placement.cmake — --allocator-cpu: where the allocator thread runs
# (tests/e2e/test_placement.py). The shim that refuses CPU moves is
# preloaded in the plain build only: the sanitizers' runtimes must come
# first in the library list.
smm_e2e_test(e2e_placement test_placement.py)
if(NOT SMM_SANITIZE)
  add_library(smm_affinity_refused SHARED shim/affinity_refused.c)
  target_link_libraries(smm_affinity_refused PRIVATE ${CMAKE_DL_LIBS})
  set_property(TEST e2e_placement APPEND PROPERTY ENVIRONMENT
               "SMM_AFFINITY_REFUSED_LIB=$<TARGET_FILE:smm_affinity_refused>")
endif()
