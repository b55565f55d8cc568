# End-to-end fault and soak tests: hostile or unlucky clients against the
# real server (tests/e2e/test_faults.py, tests/e2e/test_soak.py). The soak
# runs 30 s (10 s under sanitizers); SMM_SOAK_SECONDS in the environment
# overrides that for a longer run by hand.
smm_e2e_test(e2e_faults test_faults.py)
smm_e2e_test(e2e_soak test_soak.py)
set_tests_properties(e2e_soak PROPERTIES LABELS "e2e;soak")
