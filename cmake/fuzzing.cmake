# libFuzzer targets of tests/fuzz, in a build folder of their own (scripts/fuzz.sh):
#   CXX=clang++-14 cmake -B build-fuzz -DMIGRATE_FUZZ=ON -DMIGRATE_SANITIZE=address,undefined
option(MIGRATE_FUZZ "Build the libFuzzer targets of tests/fuzz (clang, with MIGRATE_SANITIZE=address,undefined)" OFF)
if(MIGRATE_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "MIGRATE_FUZZ needs clang's libFuzzer: configure with CXX=clang++-14")
  endif()
  if(NOT MIGRATE_SANITIZE STREQUAL "address,undefined")
    message(FATAL_ERROR "MIGRATE_FUZZ runs under ASan and UBSan: add -DMIGRATE_SANITIZE=address,undefined")
  endif()
  # Coverage feedback from every library the targets call, not only from the targets themselves.
  target_compile_options(migrate_sanitizers INTERFACE -fsanitize=fuzzer-no-link)
endif()
