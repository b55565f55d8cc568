# End-to-end fault and soak tests: hostile or unlucky clients against the
# real server (tests/e2e/test_faults.py, tests/e2e/test_soak.py).
smm_e2e_test(e2e_faults test_faults.py)
