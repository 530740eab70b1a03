# Warnings for our own code, attached PRIVATE to each target.
add_library(migrate_warnings INTERFACE)
target_compile_options(migrate_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor)
# GCC 12 at -O3 reports "literal + std::string" as an overlapping memcpy (GCC bug 105651).
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(migrate_warnings INTERFACE -Wno-restrict)
endif()
option(MIGRATE_WERROR "Treat warnings as errors (tests and CI)" OFF)
if(MIGRATE_WERROR)
  target_compile_options(migrate_warnings INTERFACE -Werror)
endif()

# Adds a static library libs/NAME as target migrate_NAME with alias migrate::NAME.
function(migrate_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(migrate_${name} STATIC ${ARG_SOURCES})
  add_library(migrate::${name} ALIAS migrate_${name})
  target_include_directories(migrate_${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include)
  target_link_libraries(migrate_${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS} migrate_warnings migrate_sanitizers)
endfunction()
