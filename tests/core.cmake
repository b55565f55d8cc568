# Unit tests of the protocol library and the allocator core, and the
# end-to-end tests of the server's protocol and limits.
# test_request also checks the scanner against the pre-scanner reference.
smm_unit_test(test_request unit/test_request.c fuzz/request_ref.c LIBS smm_proto)
target_include_directories(test_request PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz)
smm_unit_test(test_reply unit/test_reply.c LIBS smm_proto)
smm_unit_test(test_arena unit/test_arena.c LIBS smm_core)
smm_unit_test(test_exec unit/test_exec.c LIBS smm_core)
smm_unit_test(test_map unit/test_map.c LIBS smm_core)
smm_unit_test(test_queue unit/test_queue.c LIBS smm_serverlib)
smm_unit_test(test_port unit/test_port.c LIBS smm_serverlib)

smm_e2e_test(e2e_protocol test_protocol.py)
smm_e2e_test(e2e_limits test_limits.py)
smm_e2e_test(e2e_io_threads test_io_threads.py)
smm_e2e_test(e2e_server_cli test_server_cli.py)
smm_e2e_test(e2e_protocol_doc test_protocol_doc.py)
smm_e2e_test(e2e_policies test_policies.py)
smm_e2e_test(e2e_dump_window test_dump_window.py)
