# ops.cmake — operations checks (issue 6): the install, the configuration
# and logs, the container files, the man pages and the package lists
# (issue 9), each a Python unittest file in tests/e2e run against the
# built binaries.
smm_e2e_test(ops_install test_ops_install.py)
smm_e2e_test(ops_config test_ops_config.py)
smm_e2e_test(ops_docker test_ops_docker.py)
smm_e2e_test(ops_man test_ops_man.py)
smm_e2e_test(ops_deps test_ops_deps.py)
# The install test installs this build tree with this cmake.
set_property(TEST ops_install APPEND PROPERTY ENVIRONMENT
             "SMM_BUILD_DIR=${CMAKE_BINARY_DIR}" "SMM_CMAKE=${CMAKE_COMMAND}")
# Where podman is installed, ops_docker builds and runs the image with
# image-check.sh: 2-5 minutes.
set_tests_properties(ops_docker PROPERTIES TIMEOUT 900)
# `ctest -L ops` runs just these.
set_property(TEST ops_install ops_config ops_docker ops_man ops_deps APPEND PROPERTY LABELS ops)
