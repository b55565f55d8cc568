# leases.cmake — blocks that outlive their owner (issue 10): the lease
# table and the core's lease logic on a fake clock, and end-to-end tests of
# leases, connection-scoped blocks and the operator's free.
smm_unit_test(test_leases unit/test_leases.c LIBS smm_core)
smm_e2e_test(e2e_leases test_leases.py)
