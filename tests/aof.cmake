# aof.cmake — the append-only log (issue 11): the record codec on its own,
# and end-to-end restarts, kill -9 crashes, torn and corrupt logs and a
# full disk against the real server and real files.
smm_unit_test(test_aofrec unit/test_aofrec.c LIBS smm_core)
smm_e2e_test(e2e_aof test_aof.py)
