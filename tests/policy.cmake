# Placement policies: hand-drawn placement rules and randomized model tests.
smm_unit_test(test_policy unit/test_policy.c LIBS smm_core)
smm_unit_test(test_policy_model unit/test_policy_model.c LIBS smm_core)
smm_unit_test(test_policy_blocks unit/test_policy_blocks.c LIBS smm_core)
