# mutation.cmake — the checks that close what mutation testing found
# (issue 14): twelve bugs planted one at a time, and these catch the ones
# that had one unit test or none behind them — the admin token's and the
# keys' comparisons, `truncated` in dump, right-hand coalescing.
smm_unit_test(test_secret unit/test_secret.c LIBS smm_core)
smm_e2e_test(e2e_holes test_holes.py)
