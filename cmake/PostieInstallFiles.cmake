# SPDX-License-Identifier: Apache-2.0
# The CLI's companion files, installed with it: man pages and bash
# completion generated from the CLI's own help texts
# (boards/host-posix/gen-docs.py runs the built postie), and the systemd
# units for the queue.
find_program(POSTIE_PYTHON NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
find_program(POSTIE_PYTHON NAMES python3)
set(postie_docs_dir ${PROJECT_BINARY_DIR}/cli-docs)
add_custom_target(postie_docs ALL
  COMMAND ${POSTIE_PYTHON} ${PROJECT_SOURCE_DIR}/boards/host-posix/gen-docs.py
          $<TARGET_FILE:postie> ${postie_docs_dir}
  DEPENDS postie ${PROJECT_SOURCE_DIR}/boards/host-posix/gen-docs.py
  COMMENT "Man pages and bash completion from the postie help texts"
  VERBATIM)
install(DIRECTORY ${postie_docs_dir}/man1 DESTINATION ${CMAKE_INSTALL_MANDIR})
install(FILES ${postie_docs_dir}/bash-completion/postie
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)

# systemd: the queue's service and timer, the poll service and the poll timer
# (POSTIE_SYSTEMD_UNITDIR to move them; installed, not enabled)
set(POSTIE_SYSTEMD_UNITDIR lib/systemd/system CACHE STRING "Where the systemd units go")
set(POSTIE_BINDIR ${CMAKE_INSTALL_FULL_BINDIR})
configure_file(boards/host-posix/systemd/postie-queue.service.in
               ${PROJECT_BINARY_DIR}/systemd/postie-queue.service @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/systemd/postie-queue.service
              boards/host-posix/systemd/postie-queue.timer
              boards/host-posix/postie-poll.service
              boards/host-posix/postie-poll-once.service
              boards/host-posix/postie-poll-once.timer
        DESTINATION ${POSTIE_SYSTEMD_UNITDIR})
