# Sanitizers for our own code (libraries, the binary, tests, benchmarks), attached PRIVATE to each
# target as the warnings are: -DMIGRATE_SANITIZE=address,undefined or =thread (scripts/sanitize.sh).
set(MIGRATE_SANITIZE "" CACHE STRING "Sanitizers for our targets: empty (none), address,undefined, or thread")
set_property(CACHE MIGRATE_SANITIZE PROPERTY STRINGS "" "address,undefined" "thread")

add_library(migrate_sanitizers INTERFACE)
if(MIGRATE_SANITIZE)
  if(NOT MIGRATE_SANITIZE MATCHES "^(address|undefined|address,undefined|thread)$")
    message(FATAL_ERROR "MIGRATE_SANITIZE='${MIGRATE_SANITIZE}': use address,undefined or thread")
  endif()
  # Frame pointers for whole stacks in reports; a UBSan finding stops the program, so it fails a test.
  target_compile_options(migrate_sanitizers INTERFACE
    -fsanitize=${MIGRATE_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(migrate_sanitizers INTERFACE -fsanitize=${MIGRATE_SANITIZE})
  # GCC 12 then reports std::regex's own internals as maybe uninitialized: a false positive in the
  # standard library's headers that -Werror would make a failed build.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(migrate_sanitizers INTERFACE -Wno-maybe-uninitialized)
  endif()
endif()
