# Shared compile settings as INTERFACE targets, linked PRIVATE by every target of the project.
if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "Build type" FORCE)
endif()
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)

find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER "${CCACHE_PROGRAM}")
endif()

option(TICKSTREAM_WERROR "Treat warnings as errors" OFF)
option(TICKSTREAM_SANITIZE "Build with AddressSanitizer and UBSan" OFF)

add_library(tickstream_options INTERFACE)
add_library(tickstream::options ALIAS tickstream_options)
target_compile_features(tickstream_options INTERFACE cxx_std_20)
if(TICKSTREAM_SANITIZE)
  target_compile_options(tickstream_options INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer)
  target_link_options(tickstream_options INTERFACE -fsanitize=address,undefined)
endif()

add_library(tickstream_warnings INTERFACE)
add_library(tickstream::warnings ALIAS tickstream_warnings)
target_compile_options(tickstream_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Woverloaded-virtual -Wimplicit-fallthrough
  $<$<BOOL:${TICKSTREAM_WERROR}>:-Werror>)
