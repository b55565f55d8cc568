# client_cli.cmake — smm-client for a newcomer (issue 9): the number
# reader both programs share, the command-line conventions, interrupted
# load runs, shell completion, and the README and man pages checked by
# running what they say.
smm_unit_test(test_num unit/test_num.c LIBS smm_proto)
smm_e2e_test(e2e_client_cli test_client_cli.py)
smm_e2e_test(e2e_completion test_completion.py)
set_property(TEST e2e_completion APPEND PROPERTY ENVIRONMENT
             "SMM_BUILD_DIR=${CMAKE_BINARY_DIR}" "SMM_CMAKE=${CMAKE_COMMAND}")
smm_e2e_test(e2e_docs test_docs.py)
