# client.cmake — smm-client and libsmmclient (issue 3): unit tests of the
# pure parts, end-to-end tests of every command against the real server,
# and the library under many threads (run it in a -DSMM_SANITIZE=thread
# build for the ThreadSanitizer check).
smm_unit_test(test_client_decode unit/test_client_decode.c LIBS smmclient)
smm_unit_test(test_client_hist unit/test_client_hist.c LIBS smm_clienttool)
smm_unit_test(test_client_cli unit/test_client_cli.c LIBS smm_clienttool)

# Not a unit test on its own: it needs a server, which the e2e test starts.
add_executable(test_client_threads unit/test_client_threads.c)
target_link_libraries(test_client_threads PRIVATE smmclient Threads::Threads smm_warnings)

smm_e2e_test(e2e_client test_client.py)
smm_e2e_test(e2e_client_lib test_client_lib.py)
set_property(TEST e2e_client_lib APPEND PROPERTY ENVIRONMENT
             "SMM_CLIENT_THREADS=$<TARGET_FILE:test_client_threads>")
