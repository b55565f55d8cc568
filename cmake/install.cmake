# install.cmake — what `cmake --install` adds beyond the binaries and
# libsmmclient (which server/ and client/ install themselves): the man
# pages, the protocol's reference, and the example systemd unit with
# ExecStart= pointing at the installed smm-server.
#
#   cmake --install build --prefix /usr/local
# puts smm-server(1) and smm-client(1) in share/man/man1, and PROTOCOL.md
# and smm-server.service in share/doc/smm/. To install the unit where systemd
# reads it too, configure with -DSMM_SYSTEMD_UNITDIR=/etc/systemd/system
# (or a path relative to the prefix, such as lib/systemd/system).

set(SMM_SYSTEMD_UNITDIR "" CACHE PATH
    "Also install smm-server.service here (empty: only the example in the doc directory)")

install(FILES ${PROJECT_SOURCE_DIR}/man/smm-server.1
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
# The client's page only with the client it describes.
if(TARGET smm-client)
  install(FILES ${PROJECT_SOURCE_DIR}/man/smm-client.1
          DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endif()

# What a client of any language needs to speak to the server.
install(FILES ${PROJECT_SOURCE_DIR}/proto/PROTOCOL.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

# The unit in the tree names /usr/local/bin, so it works as it stands after
# a default install. The installed copy names the prefix chosen at install
# time (`cmake --install --prefix` may differ from the configured one), so
# it is written by install-time code, just before it is installed.
set(smm_unit_src ${PROJECT_SOURCE_DIR}/dist/smm-server.service)
set(smm_unit_out ${PROJECT_BINARY_DIR}/dist/smm-server.service)
if(IS_ABSOLUTE "${CMAKE_INSTALL_BINDIR}")
  set(smm_bindir "${CMAKE_INSTALL_BINDIR}")
else()
  set(smm_bindir "\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}")
endif()
install(CODE "
  file(READ \"${smm_unit_src}\" smm_unit)
  string(REPLACE \"/usr/local/bin/smm-server\" \"${smm_bindir}/smm-server\"
         smm_unit \"\${smm_unit}\")
  file(WRITE \"${smm_unit_out}\" \"\${smm_unit}\")
")
install(FILES ${smm_unit_out} DESTINATION ${CMAKE_INSTALL_DOCDIR})
if(SMM_SYSTEMD_UNITDIR)
  install(FILES ${smm_unit_out} DESTINATION ${SMM_SYSTEMD_UNITDIR})
endif()
